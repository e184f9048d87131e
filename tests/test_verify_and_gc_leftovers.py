"""verify's one summary line on stderr when it fails, and gc's sweep of stale temporaries."""

from __future__ import annotations

import os
import time

from conftest import Cli, add_model


def test_a_failing_verify_lists_problems_on_stdout_and_one_line_on_stderr(tmp_path):
    import mreg

    registry = tmp_path / "registry"
    mreg.init(str(registry))
    cli = Cli(str(registry))
    add_model(cli, "M")
    (tmp_path / "w.bin").write_bytes(b"w")
    cli.ok("register", "M@v1", "-a", str(tmp_path / "w.bin"))
    manifest = registry / "models/M/versions/v1.yaml"
    manifest.write_bytes(manifest.read_bytes().replace(b"size: 1", b"size: 2"))
    outcome = cli("verify")
    assert outcome.exit_code == 5
    assert "FAIL models/M/versions/v1.yaml" in outcome.stdout
    assert outcome.stderr.splitlines() == ["error: verify found 1 problems (listed on stdout)"]


def test_gc_removes_stale_temporaries_but_not_locks_or_young_ones(tmp_path):
    import mreg

    registry = tmp_path / "registry"
    mreg.init(str(registry))
    cli = Cli(str(registry))
    add_model(cli, "M")
    old = time.time() - 7200
    stale = registry / ".tmp" / ".tmp-killed"
    legacy = registry / "models/M" / ".tmp-from-an-older-release"
    lock = registry / ".tmp/locks/shared-1.yaml"
    young = registry / ".tmp" / ".tmp-in-flight"
    for path in (stale, legacy, lock, young):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    for path in (stale, legacy, lock):
        os.utime(path, (old, old))
    cli.ok("gc", "--grace", "3600")
    assert not stale.exists() and not legacy.exists()
    assert lock.exists() and young.exists()
    assert cli.ok("verify").startswith("ok")
