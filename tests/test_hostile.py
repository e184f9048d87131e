"""The hostile corpus (tests/hostile_cases.py): every case must be refused with its exit code,
one ``error:`` line on stderr, no traceback, within a hang guard, and leave the registry
byte-for-byte as it was. Times are recorded, not asserted (bench/bench_hostile.py measures)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mreg.cli import app

from hostile_cases import Case, all_cases, build_base

HANG_GUARD_SECONDS = 5  # not a performance bound: only so a hang fails instead of stalling CI
TIMES: dict[str, float] = {}
WEIGHTS_DIGEST = "sha256:" + hashlib.sha256(b"w" * 64).hexdigest()


def tree_hash(root: Path) -> str:
    """Every path under ``root`` (links not followed) with its type, bytes or link target."""
    hasher = hashlib.sha256()
    for directory, subdirs, files in sorted(os.walk(root)):
        for name in sorted(subdirs + files):
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                hasher.update(f"L {relative} {os.readlink(path)}\n".encode())
            elif path.is_file():
                hasher.update(f"F {relative} ".encode() + hashlib.sha256(path.read_bytes()).digest())
            else:
                hasher.update(f"D {relative}\n".encode())
    return hasher.hexdigest()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MREG_ACTOR", "tester")
        patch.setenv("MREG_CACHE_DIR", str(root / "user-cache"))
        build_base(root / "registry", root / "sources")
    yield root / "registry"
    out = Path(os.environ.get("MREG_HOSTILE_TIMES", root / "times.json"))
    out.write_text(json.dumps(dict(sorted(TIMES.items())), indent=1))


def _raise_hang(signum, frame):
    raise TimeoutError(f"still running after {HANG_GUARD_SECONDS} s")


def run_case(case: Case, base: Path, scratch: Path) -> tuple[int, str, str, float]:
    registry = base
    if case.craft is not None or case.xfail:  # a case that may still succeed must not change the base
        registry = scratch / "registry"
        shutil.copytree(base, registry, symlinks=True)
        if case.craft is not None:
            case.craft(registry, scratch)
    inputs = scratch / "in"
    inputs.mkdir(exist_ok=True)
    for name, make in case.inputs.items():
        (inputs / name).write_bytes(make().replace(b"{weights}", WEIGHTS_DIGEST.encode()))
    argv = [part.replace("{in}", str(inputs)).replace("{scratch}", str(scratch)) for part in case.argv]
    before = tree_hash(registry)
    previous = signal.signal(signal.SIGALRM, _raise_hang)
    signal.alarm(HANG_GUARD_SECONDS)
    started = time.perf_counter()
    try:
        result = CliRunner().invoke(app, ["--registry", str(registry), *argv], catch_exceptions=False)
    finally:
        elapsed = time.perf_counter() - started
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert tree_hash(registry) == before, "the refused command changed the registry"
    return result.exit_code, result.stdout, result.stderr, elapsed


def _param(case: Case):
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


CASES = all_cases()


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 150
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_hostile_input_is_refused_cleanly(case: Case, base: Path, tmp_path: Path):
    code, stdout, stderr, elapsed = run_case(case, base, tmp_path)
    TIMES[case.id] = round(elapsed, 4)
    lines = stderr.splitlines()
    assert "Traceback" not in stderr + stdout
    assert code == case.code, f"exit {code}, expected {case.code}: {stderr.strip()}"
    assert len(lines) == 1 and lines[0].startswith("error: "), f"stderr was {stderr!r}"
    assert "unexpected" not in lines[0]


CRASHERS = ["doc-register-f-deep-flow-100k", "doc-model-update-deep-json-100k", "doc-judge-canary-alias-bomb",
            "doc-register-f-comments-50mb", "stored-config-deep"]


@pytest.mark.parametrize("case_id", CRASHERS)
def test_inputs_that_crashed_or_hung_the_interpreter_fail_cleanly_in_a_real_process(case_id, base, tmp_path):
    """A segfault kills only a subprocess: the same cases as above, through ``python -m mreg``."""
    import subprocess
    import sys

    case = next(case for case in CASES if case.id == case_id)
    if case.xfail:
        pytest.xfail(case.xfail)
    registry = base
    if case.craft is not None:
        registry = tmp_path / "registry"
        shutil.copytree(base, registry, symlinks=True)
        case.craft(registry, tmp_path)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, make in case.inputs.items():
        (inputs / name).write_bytes(make())
    argv = [part.replace("{in}", str(inputs)) for part in case.argv]
    done = subprocess.run([sys.executable, "-m", "mreg", "--registry", str(registry), *argv],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == case.code, done.stderr
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: ")


def test_path_rule_examples():
    from mreg.paths import path_problem, paths_problem

    for good in ("a", "a/b.txt", "model/weights.bin", "ü/x", "a..b"):
        assert path_problem(good) is None, good
    for bad in ("", "/a", "../a", "a/../b", "a//b", "a/./b", ".", "a/", "a\\b", "C:/a", "a\x00b", "x" * 256):
        assert path_problem(bad), bad
    assert paths_problem(["a", "a"]) and paths_problem(["a", "a/b"]) and paths_problem(["a/b", "a"])
    assert paths_problem(["a/b", "a/c", "b"]) is None

