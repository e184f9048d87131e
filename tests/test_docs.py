"""The documentation stays true: the generated command reference is current, and the
README's tour runs."""

from __future__ import annotations

import os
import re
import runpy
import subprocess

import pytest

from conftest import EXAMPLE, REPO, Cli

pytestmark = pytest.mark.local_only


def test_the_command_reference_is_current():
    generator = runpy.run_path(str(REPO / "scripts" / "cli-docs"))
    assert (REPO / "docs" / "cli.md").read_text() == generator["reference"](), "run scripts/cli-docs"


def test_the_command_reference_covers_every_command():
    text = (REPO / "docs" / "cli.md").read_text()
    for command in ("register", "promote", "lineage", "model add", "verify"):
        assert f"## `mreg {command}`" in text


def test_the_tour_runs():
    done = subprocess.run(["bash", str(REPO / "examples" / "tour.sh")], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    assert "$ mreg status MDL-REC --at 2025-06-01" in done.stdout
    assert re.search(r"v12\.0\s+Production", done.stdout)


def test_the_readme_tour_commands_run_on_the_example():
    readme = (REPO / "README.md").read_text()
    tour = readme.split("## A short tour", 1)[1].split("```console", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip()[len("$ mreg "):] for line in tour.splitlines() if line.startswith("$ mreg ")]
    assert len(commands) >= 6
    for command in commands:
        Cli(str(EXAMPLE)).ok(*command.split())


def test_the_readme_python_example_runs(monkeypatch):
    import doctest

    monkeypatch.chdir(REPO)
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```pycon\n(.*?)```", text, re.S)
    assert blocks
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for number, block in enumerate(blocks):
        runner.run(parser.get_doctest(block, {}, f"README.md pycon block {number}", "README.md", 0))
    assert runner.failures == 0 and runner.tries > 5
