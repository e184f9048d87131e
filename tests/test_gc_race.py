"""gc racing registrations, in real processes: whatever ``--grace``, no blob a registration in
flight will reference is deleted. One process registers 20 versions, each with a new file and
one whose bytes were stored before and are unreferenced (so a registration reuses a blob gc
wants to delete); another runs ``gc --grace 0`` in a loop meanwhile. Every version must then
verify and pull."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import mreg
from mreg.manifest import ModelSpec
from mreg.store.markers import MARKERS

VERSIONS = 20
REGISTER = """
import sys, mreg
from pathlib import Path
registry, folder = mreg.open(sys.argv[1]), Path(sys.argv[2])
for index in range(int(sys.argv[3])):
    unique = folder / f"unique-{index}.bin"
    unique.write_bytes(b"version %d " % index * 1000)
    registry.register(f"M@v{index}", artifact_sources=[folder / "reused.bin", unique])
"""
COLLECT = """
import sys, mreg
from pathlib import Path
stop, runs = Path(sys.argv[2]), 0
while not stop.exists():
    mreg.open(sys.argv[1]).gc(grace=0)
    runs += 1
print(runs)
"""


def _run(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_gc_with_no_grace_never_deletes_a_blob_a_registration_will_reference(registry, registry_url, tmp_path):
    registry.add_model(ModelSpec(id="M", name="m"))
    reused = tmp_path / "reused.bin"
    reused.write_bytes(b"bytes stored before, referenced by nothing " * 1000)
    registry.blobs.put_file(reused)  # an unreferenced blob: gc's to delete, the registrations' to reuse
    stop = tmp_path / "stop"
    collector = _run(COLLECT, registry_url, str(stop))
    time.sleep(1.0)  # let gc get going first
    registrar = _run(REGISTER, registry_url, str(tmp_path), str(VERSIONS))
    out, err = registrar.communicate(timeout=600)
    stop.touch()
    runs, gc_err = collector.communicate(timeout=600)
    assert registrar.returncode == 0, err
    assert collector.returncode == 0 and int(runs) > 0, gc_err
    opened = mreg.open(registry_url)
    assert opened.verify().ok, opened.verify().problems
    for index in range(VERSIONS):
        opened.pull(f"M@v{index}", tmp_path / "out" / f"v{index}")
    assert not opened.storage.listing(MARKERS) or all(
        not path.rpartition("/")[2].startswith(("register.", "gc.")) for path in opened.storage.listing(MARKERS))
