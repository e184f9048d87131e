"""bench/generate.py builds registries that mreg accepts as valid, of the shape asked for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_a_generated_registry_passes_verify_and_has_the_asked_shape(tmp_path):
    root = tmp_path / "generated"
    subprocess.run([sys.executable, str(BENCH / "generate.py"), "--models", "2", "--versions", "3",
                    "--history", "2", "--out", str(root)], check=True, capture_output=True)
    mreg = [sys.executable, "-m", "mreg", "--registry", str(root)]
    assert subprocess.run([*mreg, "verify"], capture_output=True).returncode == 0
    models = json.loads(subprocess.run([*mreg, "models", "--json"], check=True, capture_output=True).stdout)
    assert [(row["id"], row["versions"], row["status"]) for row in models] == [
        ("GEN-0000", 3, "production"), ("GEN-0001", 3, "production"), ("HIST-2", 3, "production")]
    log = json.loads(subprocess.run([*mreg, "log", "HIST-2", "--json"], check=True, capture_output=True).stdout)
    assert [entry["action"] for entry in log].count("monitor") == 2


def test_a_history_model_numbered_like_a_derived_model_has_no_cross_model_parent(tmp_path):
    """Every tenth generated model derives from the one before it; HIST-<depth> models are
    numbered after them (here 8 + 2 = 10) and must not name a model that was never made."""
    root = tmp_path / "generated"
    subprocess.run([sys.executable, str(BENCH / "generate.py"), "--models", "8", "--versions", "1",
                    "--history", "2", "--out", str(root)], check=True, capture_output=True)
    mreg = [sys.executable, "-m", "mreg", "--registry", str(root)]
    shown = json.loads(subprocess.run([*mreg, "show", "HIST-2@v1", "--json"], check=True, capture_output=True).stdout)
    assert shown["manifest"].get("parents", []) == []  # empty lists are not written


def test_generate_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = subprocess.run([sys.executable, str(BENCH / "generate.py"), "--out", str(tmp_path)], capture_output=True)
    assert result.returncode == 2 and b"not empty" in result.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["keep.txt"]
