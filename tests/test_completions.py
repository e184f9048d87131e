"""Shell completion: the committed scripts are current, and they complete from live data."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys

import pytest

from conftest import EXAMPLE, REPO

pytestmark = pytest.mark.local_only


def test_committed_completion_scripts_are_current():
    generator = runpy.run_path(str(REPO / "scripts" / "completions"))
    for shell, name in generator["FILES"].items():
        assert (REPO / "completions" / name).read_text() == generator["script"](shell), name


def complete(words: str) -> list[str]:
    """What the bash script would offer for the last word of ``words``."""
    parts = words.split(" ")
    env = {**os.environ, "_MREG_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1),
           "MREG_REGISTRY": str(EXAMPLE)}
    done = subprocess.run([sys.executable, "-m", "mreg"], env=env, capture_output=True, text=True, timeout=60)
    return done.stdout.split()


def test_states_complete_from_the_transition_table():
    assert complete("mreg promote MDL-REC@v12.4 --to ca") == ["candidate", "canary"]


def test_models_and_versions_complete_from_the_registry():
    assert complete("mreg show MDL-R") == ["MDL-REC@"]
    assert complete("mreg promote MDL-REC@v1") == ["MDL-REC@v10.0", "MDL-REC@v11.0", "MDL-REC@v12.0", "MDL-REC@v12.4"]
    assert complete("mreg status MDL-") == ["MDL-EXP", "MDL-PERS", "MDL-QUAL", "MDL-REC", "MDL-SEARCH"]


def test_commands_complete():
    assert {"promote", "pull", "register", "reindex", "rollback"} <= set(complete("mreg r") + complete("mreg p"))
