"""The index property: any interleaving of writes, model updates, index damage and reindex gives
the same answers as reading the files afresh (a copy of the registry without its index)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import mreg
from mreg.manifest import ModelSpec
from mreg.store.index import index_location

from conftest import settle_folders

pytestmark = pytest.mark.local_only

MODELS = ("A", "B")
STATES = ("experimentation", "candidate", "canary", "production", "deprecated")
QUERIES = (
    None,
    "metrics.auc >= 0.5",
    "state = 'production' OR framework LIKE 'Py%'",
    "NOT metrics.auc < 0.3 AND model IN ('A', 'B')",
)


def answers(url: str) -> tuple:
    """Everything the read commands say, as one command each would say it (open, read, flush)."""
    said = []
    for call in (
        lambda r: r.models(),
        *(lambda r, m=m: r.status(m) for m in MODELS),
        *(lambda r, m=m: r.show(m) for m in MODELS),
        *(lambda r, q=q: r.find(q, order_by="metrics.auc DESC") for q in QUERIES),
    ):
        registry = mreg.open(url)
        try:
            result = call(registry)
        except mreg.MregError as refused:  # e.g. a hand edit the chain refuses: both must refuse alike
            said.append(f"{type(refused).__name__}: {refused.message}")
            continue
        registry.flush()
        said.append(str([row.model_dump_json() for row in result] if isinstance(result, list) else result.model_dump_json()))
    return tuple(said)


class IndexMachine(RuleBasedStateMachine):
    @initialize()
    def registry(self):
        self.base = Path(os.environ["MREG_CACHE_DIR"]).parent / f"machine-{id(self)}"
        shutil.rmtree(self.base, ignore_errors=True)
        self.url = str(self.base / "registry")
        registry = mreg.init(self.url)
        for model in MODELS:
            registry.add_model(ModelSpec(id=model, name=f"Model {model}", framework="PyTorch"))
        self.versions = {model: 0 for model in MODELS}

    @rule(model=st.sampled_from(MODELS), auc=st.floats(0, 1))
    def register(self, model, auc):
        self.versions[model] += 1
        registry = mreg.open(self.url)
        registry.register(f"{model}@v{self.versions[model]}", metrics={"auc": auc})
        registry.flush()

    @rule(model=st.sampled_from(MODELS), state=st.sampled_from(STATES), newest=st.booleans())
    def promote(self, model, state, newest):
        if not self.versions[model]:
            return
        version = self.versions[model] if newest else 1
        registry = mreg.open(self.url)
        registry.promote(f"{model}@v{version}", state, force=True, reason="test")
        registry.flush()

    @rule(model=st.sampled_from(MODELS), name=st.sampled_from(["Churn", "Fraud detector", "X"]),
          framework=st.sampled_from(["PyTorch", "XGBoost"]))
    def update_model_keeping_mtime(self, model, name, framework):
        """model update (a hand edit is tampering since format 2, refused alike with or without
        the index: tests/test_index.py), then model.yaml's mtime put back as a careless tool would."""
        path = Path(self.url, "models", model, "model.yaml")
        status = os.stat(path)
        registry = mreg.open(self.url)
        spec = registry.repository.model_files(model).spec
        registry.update_model(spec.model_copy(update={"name": name, "framework": framework}))
        registry.flush()
        os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))

    @rule()
    def delete_the_index(self):
        index_location(mreg.open(self.url).storage).unlink(missing_ok=True)

    @rule()
    def forge_every_row(self):
        location = index_location(mreg.open(self.url).storage)
        if location.exists():
            with sqlite3.connect(location) as conn:
                conn.execute("UPDATE files SET data = replace(data, 'Model', 'Forged')")
                conn.execute("UPDATE kept SET value = replace(value, 'development', 'production')")

    @rule()
    def let_the_folders_settle(self):
        """Time passes: from now on kept rows may be keyed by folder identities."""
        settle_folders(Path(self.url))

    @rule()
    def reindex(self):
        mreg.open(self.url).reindex()

    @invariant()
    def same_answers_as_the_files(self):
        fresh = self.base / "fresh"
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.copytree(self.url, fresh, ignore=shutil.ignore_patterns(".cache"))
        assert answers(self.url) == answers(str(fresh))

    def teardown(self):
        shutil.rmtree(getattr(self, "base", "/nonexistent"), ignore_errors=True)


IndexMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=8, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
test_the_index_gives_the_answers_the_files_give = IndexMachine.TestCase
