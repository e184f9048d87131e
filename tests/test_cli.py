"""The command line as users and scripts meet it: discovery, output modes, exit codes, help."""

from __future__ import annotations

import json
import os
import subprocess
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mreg
from mreg.cli import app
from mreg.errors import ExitCode

from conftest import EXAMPLE, REPO, Cli, add_model, write


def run_in(directory: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mreg", *args], cwd=directory, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=60,
    )


@pytest.mark.local_only
def test_the_registry_is_found_by_walking_up_from_the_current_directory(registry_url, tmp_path):
    nested = Path(registry_url) / "models" / "deeper"
    nested.mkdir(parents=True)
    mreg.open(registry_url).add_model(mreg_spec("M1"))
    done = run_in(nested, "models", "--json")
    assert done.returncode == 0, done.stderr
    assert [row["id"] for row in json.loads(done.stdout)] == ["M1"]


def mreg_spec(model: str):
    from mreg.manifest import ModelSpec

    return ModelSpec(id=model, name=f"Model {model}")


def test_mreg_registry_env_is_used_when_no_option_is_given(tmp_path):
    done = run_in(tmp_path, "models", "--json", env={"MREG_REGISTRY": str(EXAMPLE)})
    assert done.returncode == 0 and len(json.loads(done.stdout)) == 5


def test_no_registry_anywhere_is_not_found_with_a_hint(tmp_path):
    done = run_in(tmp_path, "models")
    assert done.returncode == ExitCode.NOT_FOUND
    assert done.stderr.startswith("error: no registry at") and "mreg init" in done.stderr
    assert done.stderr.count("\n") == 1


def test_piped_output_is_plain_text_without_escape_codes():
    done = run_in(REPO, "-r", str(EXAMPLE), "show", "MDL-REC")
    assert done.returncode == 0
    assert "\x1b[" not in done.stdout and "│" not in done.stdout and "━" not in done.stdout
    assert "v12.4    2025-Q4" in done.stdout


def test_json_output_is_deterministic_and_sorted():
    first = run_in(REPO, "-r", str(EXAMPLE), "log", "MDL-REC", "--json").stdout
    second = run_in(REPO, "-r", str(EXAMPLE), "log", "MDL-REC", "--json").stdout
    assert first == second
    entries = json.loads(first)
    assert list(entries[0]) == sorted(entries[0])
    assert [e["time"] for e in entries] == sorted((e["time"] for e in entries), reverse=True)
    assert entries[0]["changes"][-1] == {"from": "canary", "to": "production", "version": "v12.4"}


def test_log_interleaves_registrations_and_events_newest_first():
    entries = json.loads(Cli(str(EXAMPLE)).ok("log", "MDL-REC", "--json"))
    assert [e["action"] for e in entries[:5]] == ["promote"] * 4 + ["register"]
    assert entries[4]["changes"] == [{"version": "v12.4", "from": "", "to": "development"}]
    assert len(entries) == 4 + 17  # 4 registrations; model add and 16 lifecycle events
    assert entries[-1]["action"] == "model" and entries[-1]["reason"] == "model added"


@pytest.mark.parametrize("args", [["models"], ["show", "MDL-REC"], ["show", "MDL-REC@v12.4"], ["log"], ["status", "MDL-REC"], ["verify"]])
def test_every_read_command_has_json_that_parses(args):
    outcome = Cli(str(EXAMPLE))(*args, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    json.loads(outcome.stdout)


def test_an_unexpected_error_is_one_line_and_exit_1_unless_traceback_is_asked(cli, monkeypatch):
    from mreg import registry as registry_module

    def explode(self, status=None):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(registry_module.Registry, "models", explode)  # a fault we cannot cause for real
    outcome = cli("models")
    assert outcome.exit_code == ExitCode.UNEXPECTED
    assert outcome.stderr == "error: unexpected RuntimeError: disk on fire (rerun with --traceback)\n"
    with pytest.raises(RuntimeError):
        CliRunner().invoke(app, ["--registry", cli.registry_url, "--traceback", "models"], catch_exceptions=False)


def test_usage_errors_exit_2():
    result = CliRunner().invoke(app, ["promote", "M@v1"])
    assert result.exit_code == ExitCode.USAGE


def test_init_refuses_an_existing_registry(tmp_path):
    Cli(str(tmp_path / "r")).ok("init", str(tmp_path / "r"))
    outcome = Cli(str(tmp_path / "r"))("init", str(tmp_path / "r"))
    assert outcome.exit_code == ExitCode.CONFLICT and "already exists" in outcome.stderr


def test_the_subprocess_cli_registers_and_pulls(cli, tmp_path):
    add_model(cli)
    weights = write(tmp_path / "w.bin", b"weights")
    done = cli.subprocess("register", "M1@v1", "-a", str(weights), "--json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["manifest"]["artifacts"][0]["size"] == 7
    pulled = cli.subprocess("pull", "M1@v1", "-o", str(tmp_path / "out"))
    assert pulled.exit_code == 0 and (tmp_path / "out" / "w.bin").read_bytes() == b"weights"


def test_source_date_epoch_fixes_registration_time(cli):
    add_model(cli)
    cli.ok("register", "M1@v1", env={"SOURCE_DATE_EPOCH": "1735689600"})
    shown = json.loads(cli.ok("show", "M1@v1", "--json"))
    assert shown["manifest"]["registered_at"] == "2025-01-01T00:00:00Z"
    assert shown["manifest"]["registered_by"] == "tester"


def _commands(group=None, prefix=()):
    import typer.main

    command = typer.main.get_command(app) if group is None else group
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield (*prefix, name), sub
        yield from _commands(sub, (*prefix, name))


def test_every_command_and_option_has_help_text():
    missing = []
    for path, command in _commands():
        if not (command.help or "").strip():
            missing.append(" ".join(path))
        for param in command.params:
            if getattr(param, "hidden", False) or param.param_type_name == "argument":
                continue
            if not (getattr(param, "help", None) or "").strip() and param.name != "help":
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert missing == []


def test_every_command_docstring_ends_with_an_example():
    lacking = [" ".join(path) for path, command in _commands()
               if not getattr(command, "commands", None) and "Example" not in (command.help or "")]
    assert lacking == []


HEAVY = ('networkx', 's3fs', 'scipy', 'numpy', 'botocore', 'aiobotocore', 'lark')


def _imported(*argv: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a real ``mreg ARGV`` process imports."""
    probe = (f"import sys, runpy; sys.argv=['mreg', *{list(argv)!r}]\ntry: runpy.run_module('mreg', run_name='__main__')\n"
             f"except SystemExit: pass\nprint(sorted(m for m in {modules!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    return eval(done.stdout.strip().splitlines()[-1])


def test_help_does_not_import_heavy_modules():
    assert _imported("--help", modules=(*HEAVY, "pydantic", "ruamel.yaml", "sqlite3")) == []


def test_reads_on_a_warm_index_parse_no_yaml(tmp_path):
    copy = shutil.copytree(EXAMPLE, tmp_path / "example", ignore=shutil.ignore_patterns(".cache", ".tmp"))
    Cli(str(copy)).ok("reindex")  # fills the index
    for argv in (["models"], ["status", "MDL-REC"], ["show", "MDL-REC"], ["show", "MDL-REC@v12.4"], ["log", "MDL-REC"]):
        assert _imported("--registry", str(copy), *argv, modules=(*HEAVY, "ruamel.yaml")) == [], argv
