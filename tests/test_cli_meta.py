"""Meta-tests over every command of the Typer app: help everywhere, metavariables instead of
Python types, --json on every read command printing nothing but JSON, an exit code per
README row."""

from __future__ import annotations

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from conftest import EXAMPLE, Cli, write
from mreg.cli import app

pytestmark = pytest.mark.local_only


def commands(command=None, path=()):
    command = command or typer.main.get_command(app)
    for name, sub in getattr(command, "commands", {}).items():
        if hasattr(sub, "commands"):
            yield from commands(sub, (*path, name))
        else:
            yield (*path, name), sub


ALL = list(commands())
IDS = [" ".join(path) for path, _ in ALL]


@pytest.mark.parametrize(("path", "command"), ALL, ids=IDS)
def test_every_command_and_option_has_help_and_an_example(path, command):
    assert command.help and "Example: mreg" in command.help, path
    for param in command.params:
        if param.name != "help":
            assert getattr(param, "help", None), f"mreg {' '.join(path)}: {param.name} has no help"


@pytest.mark.parametrize(("path", "command"), ALL, ids=IDS)
def test_help_names_values_with_metavariables_never_python_types(path, command):
    text = CliRunner().invoke(app, [*path, "--help"], terminal_width=200).stdout
    types = re.findall(r"<[a-z_]+(?:\[[a-z_]+\])?>", text)
    assert types == [], f"mreg {' '.join(path)} --help shows {types}"


READS = [
    ["models"], ["show", "MDL-REC"], ["show", "MDL-REC@v12.4"], ["log", "MDL-REC"], ["status", "MDL-REC"],
    ["verify"], ["gc", "--dry-run"], ["reindex"], ["states"], ["lineage", "MDL-REC@v12.4"],
    ["impact", "dataset:Member interaction history"], ["diff", "MDL-REC@v12.0", "MDL-REC@v12.4"],
    ["check", "MDL-REC@v12.4"], ["find", "state = 'production'"], ["card", "MDL-REC@v12.4"], ["remote", "list"],
]


def test_every_read_command_is_covered_here():
    reads = {path for path, command in ALL if any(param.name == "as_json" for param in command.params)}
    writes = {"init", "upgrade", "config", "model", "register", "pull", "promote", "rollback", "deprecate", "archive", "monitor", "judge",
              "push", "fetch", "clone", "import", "bundle"}
    paths = {path for path, _ in ALL}
    covered = {next(tuple(args[:n]) for n in (2, 1) if tuple(args[:n]) in paths) for args in READS}
    assert {path for path in reads if path[0] not in writes} == covered


@pytest.mark.parametrize("args", READS, ids=[" ".join(a) for a in READS])
def test_json_output_is_only_json(args, tmp_path):
    import shutil

    shutil.copytree(EXAMPLE, tmp_path / "registry")  # reindex and gc may write derived files
    outcome = Cli(str(tmp_path / "registry"))(*args, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    json.loads(outcome.stdout)


def test_quiet_prints_errors_only(tmp_path):
    example = Cli(str(EXAMPLE))
    assert example("-q", "models").stdout == ""
    failed = example("-q", "show", "NOPE")
    assert failed.exit_code == 3 and failed.stdout == "" and failed.stderr.startswith("error: ")


def test_version():
    import mreg

    outcome = CliRunner().invoke(app, ["--version"])
    assert outcome.exit_code == 0 and outcome.stdout == f"mreg {mreg.__version__}\n"


# --- one test per exit code of README's table --------------------------------------------

def test_exit_0_success():
    assert Cli(str(EXAMPLE))("models").exit_code == 0


def test_exit_2_usage_or_invalid_input():
    assert Cli(str(EXAMPLE))("show", "bad..name").exit_code == 2
    assert Cli(str(EXAMPLE))("find", "state = ").exit_code == 2


def test_exit_3_not_found(tmp_path):
    example = Cli(str(EXAMPLE))
    assert example("show", "NOPE").exit_code == 3
    assert example("show", "MDL-REC@v99").exit_code == 3
    assert Cli(str(tmp_path / "nowhere"))("models").exit_code == 3


def test_exit_4_conflict(cli, tmp_path):
    cli.ok("model", "add", "M", "--name", "M")
    cli.ok("register", "M@v1")
    assert cli("register", "M@v1").exit_code == 4


def test_exit_5_integrity(tmp_path):
    import shutil

    shutil.copytree(EXAMPLE, tmp_path / "registry")
    manifest = tmp_path / "registry/models/MDL-REC/versions/v12.0.yaml"
    manifest.chmod(0o644)
    manifest.write_text(manifest.read_text().replace("engagement_rate: 0.", "engagement_rate: 0.9"))
    assert Cli(str(tmp_path / "registry"))("verify").exit_code == 5


def test_exit_6_check_failed():
    assert Cli(str(EXAMPLE))("diff", "MDL-REC@v12.4", "MDL-REC@v10.0", "--fail-on-regression").exit_code == 6


def test_exit_7_store_unavailable(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    assert Cli("s3://no-such-bucket/registry")("models").exit_code == 7


def test_monitor_exits_6_on_drift(cli, tmp_path):
    cli.ok("model", "add", "M", "--from-file", str(write(tmp_path / "m.yaml",
           "id: M\nname: M\nbaselines:\n- {metric: latency_ms, direction: lower, max: 250, gates: []}\n")))
    cli.ok("register", "M@v1", "-m", "latency_ms=200")
    for state in ("experimentation", "candidate", "canary"):
        cli.ok("promote", "M@v1", "--to", state)
    cli.ok("promote", "M@v1", "--to", "production", "--evidence", cli.judged("M@v1"))
    healthy = cli("monitor", "M", "--metrics", str(write(tmp_path / "ok.yaml", "latency_ms: 210\n")))
    assert healthy.exit_code == 0, healthy.stderr
    drift = cli("monitor", "M", "--metrics", str(write(tmp_path / "bad.yaml", "latency_ms: 400\n")))
    assert drift.exit_code == 6 and "drift" in drift.stderr and "retraining" in drift.stdout


def test_missing_evidence_and_missing_canary_files_both_exit_3(cli, tmp_path):
    cli.ok("model", "add", "M", "--name", "M")
    cli.ok("register", "M@v1")
    evidence = cli("promote", "M@v1", "--to", "experimentation", "--evidence", str(tmp_path / "nope.json"))
    assert evidence.exit_code == 3, evidence.stderr
    canary = cli("judge", "M@v1", "--canary", str(tmp_path / "nope.yaml"), "--baseline", str(tmp_path / "nope2.yaml"))
    assert canary.exit_code == 3, canary.stderr
