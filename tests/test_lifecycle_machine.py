"""The registry and a small reference model of the lifecycle, driven side by side.

Hypothesis plays random histories (register, promote to any state, rollback, deprecate,
archive, monitor, forced moves) against a real local registry and against ``Reference``,
a from-scratch restatement of docs/lifecycle.md. After every step both must agree on each
version's state and on what was refused; at most one version serves; the chain verifies.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import mreg
from conftest import judge_report
from mreg.errors import ExitCode, UsageError
from mreg.lifecycle import State
from mreg.manifest import ModelSpec

D, E, C, K, P, M, R, B, X, A = (
    "development", "experimentation", "candidate", "canary", "production",
    "monitoring", "retraining", "rollback", "deprecated", "archived",
)
PROMOTE_EDGES = {(D, E), (E, C), (C, K), (K, P), (B, E)}
SERVING = {P, M, R}
RETIRABLE = {P, R}  # serving states with an edge to deprecated


class Refused(Exception):
    """The reference model refuses the step."""


class Reference:
    """Each version's state, and the order versions last entered production."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.entered_production: list[str] = []

    def serving(self) -> str | None:
        return next((v for v, s in self.states.items() if s in SERVING), None)

    def set(self, version: str, state: str) -> None:
        self.states[version] = state
        if state == P:
            self.entered_production = [v for v in self.entered_production if v != version] + [version]

    def retire_serving(self, keep: str) -> None:
        serving = self.serving()
        if serving not in (None, keep):
            if self.states[serving] not in RETIRABLE:
                raise Refused
            self.states[serving] = X

    def register(self, version: str) -> None:
        retraining = R in self.states.values()
        self.states[version] = C if retraining else D  # every version passes the offline gate

    def promote(self, version: str, target: str) -> None:
        source = self.states[version]
        successor = target == C and source in (D, E) and R in self.states.values()
        if (source, target) not in PROMOTE_EDGES and not successor:
            raise Refused
        if target == P:
            self.retire_serving(keep=version)
        self.set(version, target)

    def force(self, version: str, target: str) -> None:
        if target in SERVING:
            serving = self.serving()
            if serving not in (None, version):
                self.states[serving] = X
        self.set(version, target)

    def rollback(self, to: str | None) -> None:
        canaries = [v for v, s in self.states.items() if s == K]
        if canaries and to is None:
            self.states[canaries[0]] = B
            return
        bad = self.serving()
        if bad is None:
            raise Refused
        earlier = [v for v in self.entered_production if v != bad and self.states[v] == X]
        restore = to or (earlier[-1] if earlier else None)
        if self.states[bad] not in RETIRABLE or restore is None or self.states[restore] != X:
            raise Refused
        self.states[bad] = B
        self.set(restore, P)

    def deprecate(self, version: str) -> None:
        if self.states[version] not in RETIRABLE:
            raise Refused
        self.states[version] = X

    def archive(self, version: str) -> None:
        if self.states[version] != X:
            raise Refused
        self.states[version] = A

    def monitor(self, healthy: bool) -> None:
        serving = self.serving()
        if serving is None or self.states[serving] != P:
            raise Refused
        self.set(serving, P if healthy else R)


HEALTHY, DRIFTED = {"latency_p95_ms": 100.0}, {"latency_p95_ms": 999.0}
states = st.sampled_from([s.value for s in State])


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = tempfile.mkdtemp(prefix="mreg-machine-")
        self.registry = mreg.init(f"{self.root}/registry")
        spec = {"id": "M", "name": "M", "baselines": [{"metric": "latency_p95_ms", "max": 250}]}
        self.registry.add_model(ModelSpec.from_data(spec, "M"))
        self.reference = Reference()
        self.versions: list[str] = []

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def both(self, expected, actual) -> None:
        """Run a step on the reference and the registry; both accept it or both refuse it."""
        events = len(self.registry.log("M"))
        try:
            expected()
        except Refused:
            with pytest.raises(UsageError) as refused:
                actual()
            assert refused.value.exit_code == ExitCode.USAGE
            assert len(self.registry.log("M")) == events, "a refused step wrote something"
            return
        actual()

    @rule()
    def register(self) -> None:
        version = f"v{len(self.versions) + 1}"
        self.versions.append(version)
        self.reference.register(version)
        self.registry.register(f"M@{version}", metrics=HEALTHY)  # passes every gate

    @precondition(lambda self: self.versions)
    @rule(data=st.data())
    def promote(self, data) -> None:
        version = data.draw(st.sampled_from(self.versions))
        onward = sorted(t for s, t in PROMOTE_EDGES if s == self.reference.states[version])
        state = data.draw(st.sampled_from(onward) | states if onward else states)  # mostly legal steps
        judged = judge_report(self.registry, f"M@{version}", Path(self.root)) if state == "production" else None
        self.both(lambda: self.reference.promote(version, state),
                  lambda: self.registry.promote(f"M@{version}", State(state), evidence_file=judged))

    @precondition(lambda self: self.versions)
    @rule(data=st.data())
    def promote_without_judgement(self, data) -> None:
        """Whatever the history, no version reaches production without a judge report."""
        version = data.draw(st.sampled_from(self.versions))

        def refused() -> None:
            raise Refused

        self.both(refused, lambda: self.registry.promote(f"M@{version}", State.PRODUCTION))

    @precondition(lambda self: self.versions)
    @rule(data=st.data(), state=states)
    def force(self, data, state) -> None:
        version = data.draw(st.sampled_from(self.versions))
        self.reference.force(version, state)
        self.registry.promote(f"M@{version}", State(state), reason="drill", force=True)

    @rule(data=st.data(), named=st.booleans())
    def rollback(self, data, named) -> None:
        to = data.draw(st.sampled_from(self.versions)) if named and self.versions else None
        self.both(lambda: self.reference.rollback(to), lambda: self.registry.rollback("M", to=to))

    @precondition(lambda self: self.versions)
    @rule(data=st.data())
    def deprecate(self, data) -> None:
        version = data.draw(st.sampled_from(self.versions))
        self.both(lambda: self.reference.deprecate(version), lambda: self.registry.deprecate(f"M@{version}"))

    @precondition(lambda self: self.versions)
    @rule(data=st.data())
    def archive(self, data) -> None:
        version = data.draw(st.sampled_from(self.versions))
        self.both(lambda: self.reference.archive(version), lambda: self.registry.archive(f"M@{version}"))

    @rule(healthy=st.booleans(), scheduled=st.booleans())
    def monitor(self, healthy, scheduled) -> None:
        self.both(lambda: self.reference.monitor(healthy and not scheduled),
                  lambda: self.registry.monitor("M", HEALTHY if healthy else DRIFTED, scheduled=scheduled))

    @invariant()
    def states_agree(self) -> None:
        status = self.registry.status("M")
        assert status.versions == self.reference.states
        assert status.serving == self.reference.serving()
        assert sum(state in SERVING for state in status.versions.values()) <= 1

    @invariant()
    def chain_verifies(self) -> None:
        report = self.registry.verify("M")
        assert report.ok, report.problems


LifecycleMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_lifecycle_machine = LifecycleMachine.TestCase
