"""Many writers, one model, one S3 bucket: conditional creates keep the history whole."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import mreg
from mreg.manifest import ModelSpec

from conftest import Cli

WRITERS = 4
ROUNDS = 50

# Each writer registers its own versions and promotes each one, using the library in its
# own process; it prints the event sequence number every promotion was given.
WORKER = """
import json, sys
import mreg
from mreg.lifecycle import State

url, writer, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
registry = mreg.open(url)
for index in range(rounds):
    ref = f"M@{writer}-{index}"
    registry.register(ref)
    result = registry.promote(ref, State.EXPERIMENTATION, reason="race")
    print(json.dumps({"version": ref.split("@")[1], "seq": result.seq}), flush=True)
"""


@pytest.mark.slow
def test_concurrent_writers_lose_no_event_and_duplicate_none(s3_url):
    url = f"{s3_url}/registry"
    mreg.init(url).add_model(ModelSpec.from_data({"id": "M", "name": "Raced"}, "test"))
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, url, f"w{writer}", str(ROUNDS)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for writer in range(WRITERS)
    ]
    outputs = [worker.communicate(timeout=600) for worker in workers]  # every pipe closed, also on a failure
    claimed = []
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr
        claimed += [json.loads(line) for line in stdout.splitlines()]

    registry = mreg.open(url)
    history = registry.log("M")
    events = {entry.seq: entry for entry in history if entry.action == "promote"}
    total = WRITERS * ROUNDS
    promotions = list(range(2, total + 2))  # event 1 is model add
    assert sorted(event["seq"] for event in claimed) == promotions  # none lost, none twice
    assert sorted(events) == promotions
    for event in claimed:
        assert [move.to_json_data() for move in events[event["seq"]].changes] == [
            {"version": event["version"], "from": "development", "to": "experimentation"}
        ]

    replayed: dict[str, str] = {}
    for seq in sorted(events):
        for move in events[seq].changes:
            assert replayed.get(move.version, "development") == move.from_
            replayed[move.version] = move.to
    assert registry.status("M").versions == replayed
    assert len(replayed) == total

    verified = Cli(url).subprocess("verify")
    assert verified.exit_code == 0, verified.stdout + verified.stderr
