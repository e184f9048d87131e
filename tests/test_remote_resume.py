"""A push killed at any write leaves the remote valid, and rerunning it finishes the job."""

from __future__ import annotations

import threading

import pytest

import mreg
from mreg.store import local

from conftest import snapshot
from test_remotes_cli import _populated


class Killed(BaseException):
    """What the process sees of a SIGKILL at this instant: nothing after it runs."""


def _kill_after(monkeypatch, writes: int, root: str) -> None:
    """Let ``writes`` creates under ``root`` succeed, then kill the push at the next one."""
    done = {"count": 0}
    lock = threading.Lock()

    def gate(path) -> None:
        if not str(path).startswith(root):
            return
        with lock:
            if done["count"] >= writes:
                raise Killed()
            done["count"] += 1

    create, commit = local.LocalStorage.create, local.LocalStaged.commit

    def killing_create(self, path, data):
        gate(self.path_of(path))
        return create(self, path, data)

    def killing_commit(self, path):
        try:
            gate(self._storage.path_of(path))
        except Killed:
            self._file.close()  # the temporary file stays behind, as after a real kill
            raise
        return commit(self, path)

    monkeypatch.setattr(local.LocalStorage, "create", killing_create)
    monkeypatch.setattr(local.LocalStaged, "commit", killing_commit)


@pytest.mark.local_only
def test_a_push_killed_at_every_write_leaves_the_remote_valid_and_a_rerun_finishes(tmp_path, monkeypatch):
    here = _populated(str(tmp_path / "here"), tmp_path)
    expected = {k: v for k, v in snapshot(tmp_path / "here").items() if not k.startswith(".")}
    writes = 0
    while True:
        remote = tmp_path / f"remote{writes}"
        with monkeypatch.context() as patch:
            _kill_after(patch, writes, str(remote))
            registry = mreg.open(str(tmp_path / "here"))
            try:
                registry.repository.config = registry.config.model_copy(update={"remotes": {"origin": str(remote)}})
                registry.push()
                finished = True
            except Killed:
                finished = False
        if (remote / "mreg.yaml").exists():
            assert mreg.open(str(remote)).verify().ok, f"invalid after a kill at write {writes}"
        registry = mreg.open(str(tmp_path / "here"))
        registry.repository.config = registry.config.model_copy(update={"remotes": {"origin": str(remote)}})
        registry.push()
        assert mreg.open(str(remote)).verify(deep=True).ok
        pushed = {k: v for k, v in snapshot(remote).items() if not k.startswith(".")}
        assert pushed == {k: v for k, v in expected.items() if k != "mreg.yaml"} | {"mreg.yaml": pushed["mreg.yaml"]}
        if finished:
            break
        writes += 1
    assert writes >= 8  # mreg.yaml, .gitignore, 4 blobs, model.yaml, 2 manifests, 1 event: each a kill point
    assert {k: v for k, v in snapshot(tmp_path / "here").items() if not k.startswith(".")} == expected
