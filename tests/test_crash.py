"""Kills in the middle of writes: strace's fault injection sends SIGKILL at the Nth
link/rename/fsync a command makes, and other runs are killed at random instants. After every
kill the registry must verify, everything registered before must still be there, and the
only leftovers are temporaries under .tmp/ (never beside a manifest or an event)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mreg
from mreg.manifest import ModelSpec

SYSCALLS = {"link": "link,linkat", "rename": "rename,renameat,renameat2", "fsync": "fsync,fdatasync", "syncfs": "syncfs"}
ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # no .pyc renames of our own to count


def _strace() -> str:
    found = shutil.which("strace")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("strace is required in CI (scripts/test installs it)")
        pytest.skip("strace is not installed")
    return found


@pytest.fixture
def setup(tmp_path):
    registry = tmp_path / "registry"
    created = mreg.init(str(registry))
    created.add_model(ModelSpec(id="M", name="m"))
    (tmp_path / "w.bin").write_bytes(os.urandom(1 << 16))
    (tmp_path / "tree").mkdir()
    for name in "abc":
        (tmp_path / "tree" / name).write_bytes(os.urandom(4096))
    created.register("M@v0", artifact_sources=[str(tmp_path / "w.bin")])
    return registry, tmp_path


def _command(registry: Path, work: Path, step: int) -> list[str]:
    (work / "w.bin").write_bytes(os.urandom(1 << 16))  # new bytes, so every run writes blobs
    if step % 2:
        return [sys.executable, "-m", "mreg", "-r", str(registry), "promote", "M@v0", "--to", "experimentation"]
    return [sys.executable, "-m", "mreg", "-r", str(registry), "register", f"M@k{step}",
            "-a", str(work / "w.bin"), "-a", str(work / "tree")]


def _check_after_kill(registry: Path, registered: set[str]) -> set[str]:
    """verify passes; every version registered so far is still readable; stray files only in .tmp/."""
    done = subprocess.run([sys.executable, "-m", "mreg", "-r", str(registry), "verify", "--deep"],
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    opened = mreg.open(str(registry))
    present = set(opened.repository.model_files("M").manifests)
    assert registered <= present, f"lost {registered - present}"
    strays = [p for p in registry.rglob("*") if p.is_file() and p.name.startswith(".tmp-") and ".tmp" not in p.parent.parts]
    assert strays == []
    return present


def _kill_at(strace: str, syscall: str, when: int, command: list[str]) -> int:
    done = subprocess.run(
        [strace, "-f", "-qq", "-o", "/dev/null", "-e", f"trace={SYSCALLS[syscall]}",
         "-e", f"inject={SYSCALLS[syscall]}:signal=SIGKILL:when={when}", *command],
        capture_output=True, text=True, env=ENV, timeout=180,
    )
    return done.returncode


def _sweep(setup, syscalls, whens) -> int:
    strace = _strace()
    registry, work = setup
    registered = {"v0"}
    kills = 0
    for step, (syscall, when) in enumerate((s, w) for s in syscalls for w in whens):
        code = _kill_at(strace, syscall, when, _command(registry, work, step))
        kills += code in (-signal.SIGKILL, 128 + signal.SIGKILL, 137)
        registered = _check_after_kill(registry, registered)
    return kills


def test_a_kill_at_the_first_link_rename_or_fsync_loses_nothing(setup):
    assert _sweep(setup, ["link", "rename", "fsync"], [1]) >= 2


@pytest.mark.slow
def test_kills_at_every_early_link_rename_and_fsync_lose_nothing(setup):
    kills = _sweep(setup, ["link", "rename", "fsync"], [1, 2, 3, 4, 6, 9])
    assert kills >= 6  # a command makes fewer renames than 9: those runs complete, also checked


@pytest.mark.slow
def test_kills_at_random_instants_lose_nothing(setup):
    registry, work = setup
    registered = {"v0"}
    chance = random.Random(10)
    for step in range(12):
        process = subprocess.Popen(_command(registry, work, step * 2), env=ENV,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(chance.uniform(0.2, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        registered = _check_after_kill(registry, registered)


def _bulk_command(registry: Path, step: int) -> list[str]:
    """A batch of 8 versions with their bytes: 16 links, and syncfs for the blobs, their
    directories, then the manifests (their one directory gets an fsync)."""
    script = ("import sys, mreg\nfrom mreg.registry import NewVersion\n"
              "mreg.open(sys.argv[1]).register_many([NewVersion({'model': 'M', 'version': f'b{sys.argv[2]}-{n}'},"
              " files={'w.bin': f'{sys.argv[2]}/{n}'.encode()}) for n in range(8)])\n")
    return [sys.executable, "-c", script, str(registry), str(step)]


def test_a_kill_mid_bulk_import_leaves_a_valid_registry_and_the_rerun_completes(setup):
    strace = _strace()
    registry, _ = setup
    registered, kills = {"v0"}, 0
    points = [("link", 1), ("link", 5), ("link", 9), ("link", 14), ("syncfs", 1), ("syncfs", 2), ("syncfs", 3)]
    for step, (syscall, when) in enumerate(points):
        code = _kill_at(strace, syscall, when, _bulk_command(registry, step))
        kills += code in (-signal.SIGKILL, 128 + signal.SIGKILL, 137)
        registered = _check_after_kill(registry, registered)
        rerun = subprocess.run(_bulk_command(registry, step), capture_output=True, text=True, env=ENV, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        registered = _check_after_kill(registry, registered | {f"b{step}-{n}" for n in range(8)})
    assert kills == len(points)
