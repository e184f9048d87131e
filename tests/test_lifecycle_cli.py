"""The lifecycle through the command line: every edge taken, forbidden moves refused, the
diagram equal to the seed's, and ``status --at`` over a dated history."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timezone

import pytest

from conftest import REPO, data_file, snapshot, stored_bytes, write
from mreg.errors import ExitCode
from mreg.lifecycle import TRANSITIONS, State, allowed_targets, edge

DOC = REPO / "docs/lifecycle.md"
MODEL_FILE = """\
id: M
name: Model M
baselines:
  - metric: latency_p95_ms
    direction: lower
    max: 250
"""
TO_PRODUCTION = ("experimentation", "candidate", "canary", "production")
local = pytest.mark.local_only  # the lifecycle is pure; the refusals below also run on S3


@pytest.fixture
def lc(cli, tmp_path):
    """The CLI over a registry holding model M, with metric files for health checks."""
    cli.ok("model", "add", "M", "-f", str(write(tmp_path / "M.yaml", MODEL_FILE)))
    write(tmp_path / "healthy.yaml", "latency_p95_ms: 180\n")
    write(tmp_path / "drifted.yaml", "metrics: {latency_p95_ms: 320}\n")
    return cli


def register(cli, version: str, latency: float = 200) -> None:
    cli.ok("register", f"M@{version}", "-m", f"latency_p95_ms={latency}")


def walk(cli, version: str, *states: str) -> None:
    """Promote along ``states``; into production with a judge report made for the version."""
    for state in states:
        judged = ["--evidence", cli.judged(f"M@{version}")] if state == "production" else []
        cli.ok("promote", f"M@{version}", "--to", state, *judged)


def statuses(cli) -> dict[str, str]:
    return json.loads(cli.ok("status", "M", "--json"))["versions"]


def taken_edges(cli) -> set:
    """Every edge the log shows, a successor move counted as the edge that allowed it."""
    taken = set()
    for entry in json.loads(cli.ok("log", "M", "--json")):
        for change in entry["changes"]:
            source = State(change["from"]) if change["from"] else None
            target = State(change["to"])
            direct = edge(source, target)
            taken.add(direct or next(t for t in TRANSITIONS if t.successor and t.target == target))
    return taken


@local
def test_every_edge_of_the_table_is_taken_by_a_command(lc, registry_url):
    register(lc, "v1")  # [*] -> Development
    walk(lc, "v1", *TO_PRODUCTION)
    lc.ok("monitor", "M", "--metrics", "healthy.yaml")  # Production -> Monitoring -> Production
    register(lc, "v2")
    walk(lc, "v2", "experimentation", "candidate", "canary")
    lc.ok("rollback", "M", "--reason", "canary failed")  # Canary -> Rollback
    walk(lc, "v2", *TO_PRODUCTION)  # Rollback -> Experimentation; v1 Production -> Deprecated
    lc.ok("rollback", "M")  # v2 Production -> Rollback, v1 Deprecated -> Production
    register(lc, "v3")
    walk(lc, "v3", *TO_PRODUCTION)
    assert lc("monitor", "M", "--metrics", "drifted.yaml").exit_code == 6  # v3 Monitoring -> Retraining: drift
    lc.ok("rollback", "M")  # v3 Retraining -> Rollback, v1 back
    lc.ok("monitor", "M", "--metrics", "healthy.yaml", "--scheduled")
    register(lc, "v4")  # Retraining -> Candidate: enters as candidate
    walk(lc, "v4", "canary", "production")  # v1 Retraining -> Deprecated
    lc.ok("deprecate", "M@v4", "--reason", "model retired")  # Production -> Deprecated
    lc.ok("archive", "M@v1")  # Deprecated -> Archived

    assert taken_edges(lc) == set(TRANSITIONS)
    assert statuses(lc) == {"v1": "archived", "v2": "rollback", "v3": "rollback", "v4": "deprecated"}
    assert lc.ok("verify").startswith("ok")


def forbidden_fixture(cli) -> None:
    """Versions resting in most states: v-dev, v-cand, v-canary, v-prod, v-dep, v-arch, v-rb."""
    for version, path in [
        ("v-arch", TO_PRODUCTION), ("v-dep", TO_PRODUCTION), ("v-prod", TO_PRODUCTION),
        ("v-rb", TO_PRODUCTION[:3]), ("v-canary", TO_PRODUCTION[:3]), ("v-cand", TO_PRODUCTION[:2]), ("v-dev", ()),
    ]:
        register(cli, version)
        walk(cli, version, *path)
        if version == "v-rb":
            cli.ok("rollback", "M@v-rb")
    cli.ok("archive", "M@v-arch")


FORBIDDEN = [
    ("promote", "v-dev", "canary"),
    ("promote", "v-dev", "production"),
    ("promote", "v-cand", "production"),
    ("promote", "v-cand", "experimentation"),
    ("promote", "v-canary", "experimentation"),
    ("promote", "v-prod", "candidate"),
    ("promote", "v-dep", "canary"),
    ("promote", "v-arch", "development"),
    ("promote", "v-rb", "production"),
    ("deprecate", "v-dev", "deprecated"),
    ("deprecate", "v-arch", "deprecated"),
    ("archive", "v-prod", "archived"),
    ("archive", "v-cand", "archived"),
]


@local
@pytest.mark.parametrize(("command", "version", "target"), FORBIDDEN)
def test_a_forbidden_transition_is_refused_and_changes_nothing(lc, registry_url, command, version, target):
    forbidden_fixture(lc)
    current = State(statuses(lc)[version])
    before = snapshot(registry_url)
    args = [command, f"M@{version}"] + (["--to", target] if command == "promote" else [])

    outcome = lc(*args)

    assert outcome.exit_code == ExitCode.USAGE
    allowed = ", ".join(allowed_targets(current)) or "none"
    assert f"M@{version} is {current}; cannot move to {target} (allowed next: {allowed})" in outcome.stderr
    assert snapshot(registry_url) == before


@pytest.mark.parametrize("situation", ["nothing serves", "no earlier production version"])
def test_rollback_with_nothing_to_restore_is_refused(lc, registry_url, situation):
    register(lc, "v1")
    if situation == "no earlier production version":
        walk(lc, "v1", *TO_PRODUCTION)
    before = snapshot(registry_url)

    outcome = lc("rollback", "M")

    assert outcome.exit_code == ExitCode.USAGE
    assert "to roll back" in outcome.stderr or "no earlier production version" in outcome.stderr
    assert snapshot(registry_url) == before


def test_force_needs_a_reason_and_is_recorded(lc, registry_url):
    register(lc, "v1")
    before = snapshot(registry_url)

    refused = lc("promote", "M@v1", "--to", "production", "--force")

    assert refused.exit_code == ExitCode.USAGE and "--force needs --reason" in refused.stderr
    assert snapshot(registry_url) == before
    result = json.loads(lc.ok("promote", "M@v1", "--to", "production", "--force", "--reason", "incident", "--json"))
    assert result["forced"] is True
    event = stored_bytes(registry_url, "models/M/events/00000002.yaml").decode()  # event 1 is model add
    assert "forced: true" in event and "reason: incident" in event


@local
def test_rollback_to_a_version_and_the_folded_state_in_show_and_models(lc):
    for version in ("v1", "v2", "v3"):
        register(lc, version)
        walk(lc, version, *TO_PRODUCTION)

    lc.ok("rollback", "M", "--to", "v1", "--reason", "v2 and v3 both regress")

    assert statuses(lc) == {"v1": "production", "v2": "deprecated", "v3": "rollback"}
    shown = json.loads(lc.ok("show", "M", "--json"))
    assert (shown["current_version"], shown["status"]) == ("v1", "production")
    row = json.loads(lc.ok("models", "--json"))[0]
    assert (row["current_version"], row["status"]) == ("v1", "production")


# -- the diagram --------------------------------------------------------------------------

EDGE_LINE = re.compile(r"^\s*(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)\s*(?::\s*(.*?))?\s*$")


def mermaid_edges(text: str) -> set[tuple[str, str, str]]:
    """(from, to, label) of each transition line of a stateDiagram."""
    return {(m[1], m[2], m[3] or "") for m in map(EDGE_LINE.match, text.splitlines()) if m}


def seed_diagram() -> str:
    text = data_file("seed/model-registry-view.md", "MREG_SEED").read_text()
    block = text.split("## Model Lifecycle States", 1)[1].split("```mermaid", 1)[1].split("```", 1)[0]
    assert block.strip().startswith("stateDiagram-v2")
    return block


def table_edges() -> set[tuple[str, str, str]]:
    return {(t.source.title if t.source else "[*]", t.target.title, t.label) for t in TRANSITIONS}


@local
def test_states_mermaid_draws_exactly_the_table(cli):
    drawn = mermaid_edges(cli.ok("states", "--format", "mermaid"))

    assert drawn == table_edges() | {("Archived", "[*]", "")}


@local
def test_states_mermaid_is_accepted_by_the_mermaid_parser(cli, mermaid_parse):
    parsed = mermaid_parse(cli.ok("states", "--format", "mermaid"))

    assert parsed.returncode == 0, parsed.stderr


@local
def test_every_seed_edge_is_in_the_table_and_the_additions_are_marked(cli):
    seed = mermaid_edges(seed_diagram())
    as_ours = {("Deprecated", "Archived", label) if (a, b) == ("Deprecated", "[*]") else (a, b, label)
               for a, b, label in seed}  # the seed's terminal edge is our Archived state

    assert len(seed) == 13
    assert as_ours <= table_edges()
    added = {(t.source.title, t.target.title, t.label) for t in TRANSITIONS if t.origin == "mreg"}
    assert table_edges() - as_ours == added


@local
def test_states_json_is_the_table(cli):
    rows = json.loads(cli.ok("states", "--format", "json"))

    assert [(r["from"], r["to"], r["command"], r["origin"]) for r in rows] == [
        (t.source and t.source.value, t.target.value, t.command, t.origin) for t in TRANSITIONS
    ]


@local
def test_the_table_in_the_docs_is_the_one_mreg_states_prints(cli):
    printed = cli.ok("states").strip()
    documented = DOC.read_text().split("<!-- states:begin -->", 1)[1].split("<!-- states:end -->", 1)[0]

    assert documented.strip().strip("`").strip() == printed


# -- status --at ----------------------------------------------------------------------------

def release(version: str, *days: str) -> list[tuple[str, ...]]:
    """(when, command...) steps taking MDL-REC@version from Experimentation to Production."""
    ref = f"MDL-REC@{version}"
    return [(day, "promote", ref, "--to", state) for day, state in zip(days, TO_PRODUCTION)]


MDL_REC_HISTORY = [  # (when, command...), the seed's MDL-REC versions v10.0 .. v12.4
    ("2024-02-01", "register", "MDL-REC@v10.0"),
    *release("v10.0", "2024-03-01", "2024-03-10", "2024-03-20", "2024-04-01"),
    ("2024-08-01", "register", "MDL-REC@v11.0"),
    *release("v11.0", "2024-08-15", "2024-09-01", "2024-09-15", "2024-10-01"),
    ("2025-02-01", "register", "MDL-REC@v12.0"),
    *release("v12.0", "2025-02-15", "2025-03-01", "2025-03-15", "2025-04-01"),
    ("2025-05-01", "rollback", "MDL-REC", "--reason", "exploration hurt engagement"),
    *release("v12.0", "2025-05-20", "2025-06-01", "2025-06-10", "2025-06-15"),
    ("2025-10-01", "register", "MDL-REC@v12.4"),
    *release("v12.4", "2025-10-05", "2025-10-10", "2025-10-20", "2025-11-01"),
]
SERVING_AT = [
    ("2024-01-15", None),
    ("2024-03-25", None),
    ("2024-06-01", "v10.0"),
    ("2024-10-01T00:00:00Z", "v11.0"),  # the instant of the promotion: already serving
    ("2025-01-01", "v11.0"),
    ("2025-04-15T12:00+02:00", "v12.0"),
    ("2025-05-10", "v11.0"),  # v12.0 rolled back, v11.0 restored
    ("2025-06-01T00:00Z", "v11.0"),
    ("2025-08-01", "v12.0"),
    ("2025-12-31", "v12.4"),
]


def epoch(day: str) -> str:
    return str(int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp()))


@pytest.fixture
def mdl_rec(cli):
    cli.ok("model", "add", "MDL-REC", "--name", "Recommendation Ensemble")
    for when, *args in MDL_REC_HISTORY:
        env = {"SOURCE_DATE_EPOCH": epoch(when)}
        judged = ["--evidence", cli.judged(args[1], env)] if args[-2:] == ["--to", "production"] else []
        cli.ok(*args, *judged, env=env)
    return cli


@local
@pytest.mark.parametrize(("instant", "serving"), SERVING_AT)
def test_status_at_answers_which_version_served_then(mdl_rec, instant, serving):
    view = json.loads(mdl_rec.ok("status", "MDL-REC", "--at", instant, "--json"))

    assert view["serving"] == serving


@local
def test_status_at_shows_every_version_known_then(mdl_rec):
    view = json.loads(mdl_rec.ok("status", "MDL-REC", "--at", "2025-05-10", "--json"))

    assert view == {
        "at": "2025-05-10T00:00:00Z", "model": "MDL-REC", "serving": "v11.0",
        "versions": {"v10.0": "deprecated", "v11.0": "production", "v12.0": "rollback"},
    }
    assert "serving v12.4" in mdl_rec.ok("status", "MDL-REC")


@local
def test_status_at_refuses_a_bad_instant(mdl_rec):
    outcome = mdl_rec("status", "MDL-REC", "--at", "last tuesday")

    assert outcome.exit_code == ExitCode.USAGE and "ISO 8601" in outcome.stderr


EXAMPLE_SERVING = [("2024-01-15", None), ("2024-06-01", "v10.0"), ("2024-12-01", "v11.0"),
                   ("2025-06-01T00:00Z", "v12.0"), ("2025-12-01", "v12.4")]


@local
def test_the_example_registry_answers_which_mdl_rec_version_served(tmp_path):
    from conftest import EXAMPLE, Cli

    copy = shutil.copytree(EXAMPLE, tmp_path / "example")  # reads write the derived cache
    for instant, serving in EXAMPLE_SERVING:
        view = json.loads(Cli(str(copy)).ok("status", "MDL-REC", "--at", instant, "--json"))
        assert view["serving"] == serving, instant
