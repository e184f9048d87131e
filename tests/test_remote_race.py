"""Two processes push different promotions of one model to the same S3 remote at once:
exactly one wins, the other exits 4, and nothing is lost on either side."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import mreg

from conftest import Cli, snapshot
from test_remotes_cli import _populated


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_concurrent_pushes_of_diverging_promotions_one_wins(round_, s3_url, tmp_path):
    remote = f"{s3_url}/remote"
    first = _populated(str(tmp_path / "a"), tmp_path)
    first.ok("remote", "add", "origin", remote)
    first.ok("push")
    Cli(str(tmp_path / "b")).ok("clone", remote, str(tmp_path / "b"))
    second = Cli(str(tmp_path / "b"))
    first.ok("promote", "M1@v1", "--to", "candidate")
    second.ok("promote", "M1@v2", "--to", "experimentation")
    before = {"a": snapshot(tmp_path / "a"), "b": snapshot(tmp_path / "b")}
    pushes = [
        subprocess.Popen([sys.executable, "-m", "mreg", "--registry", str(tmp_path / name), "push"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        for name in ("a", "b")
    ]
    outcomes = [(push.returncode, push.communicate(timeout=120)[1]) for push in pushes]
    outcomes = [(push.returncode, err) for push, (_, err) in zip(pushes, outcomes)]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 4], outcomes
    loser = "ab"[[code for code, _ in outcomes].index(4)]
    assert any("M1: histories diverged at event 3" in err for code, err in outcomes if code == 4)  # 1 is model add
    winner = "ba"["ab".index(loser)]
    remote_registry = mreg.open(remote)
    assert remote_registry.verify().ok
    winner_state = mreg.open(str(tmp_path / winner)).status("M1").versions
    assert remote_registry.status("M1").versions == winner_state
    for name in "ab":  # each local registry still holds its own promotion
        assert {k: v for k, v in snapshot(tmp_path / name).items() if k != "mreg.yaml"} == \
            {k: v for k, v in before[name].items() if k != "mreg.yaml"}
