"""mreg.yaml is sealed: a hand edit is obeyed only after `mreg config seal` has checked it, so a
reviewed policy change goes in and a flipped byte or a bad field never does."""

from __future__ import annotations

import json

from mreg.store import open_storage

from conftest import Cli, add_model, snapshot

POLICY = b"policy:\n  evidence:\n    require:\n      candidate -> canary: [judge]\n"


def _edit_config(registry_url: str, appended: bytes) -> None:
    storage = open_storage(registry_url)
    storage.replace("mreg.yaml", storage.read("mreg.yaml") + appended)


def test_a_hand_edit_is_refused_until_config_seal_checks_it_then_it_is_obeyed(cli, registry_url):
    add_model(cli, "M")
    cli.ok("register", "M@v1")
    cli.ok("promote", "M@v1", "--to", "experimentation")
    _edit_config(registry_url, POLICY)  # ask for a judge report before the canary too

    before = snapshot(registry_url)
    outcome = cli("promote", "M@v1", "--to", "candidate")
    assert outcome.exit_code == 5 and "mreg.yaml" in outcome.stderr and "'mreg config seal'" in outcome.stderr
    assert snapshot(registry_url) == before

    sealed = json.loads(cli.ok("config", "seal", "--json"))
    assert sealed["sealed"] is True
    assert sealed["config"]["policy"]["evidence"]["require"] == {"candidate -> canary": ["judge"]}
    cli.ok("promote", "M@v1", "--to", "candidate")
    asked = cli("promote", "M@v1", "--to", "canary")
    assert asked.exit_code == 2 and "candidate -> canary needs a passing judge report" in asked.stderr
    assert cli.ok("verify").startswith("ok")
    assert cli.ok("config", "seal") == "mreg.yaml is sealed already; nothing to do\n"


def test_a_bad_edit_is_refused_by_config_seal_with_the_field_and_nothing_changes(cli, registry_url):
    _edit_config(registry_url, b"policy:\n  evidence:\n    max_age: 1w\n")
    before = snapshot(registry_url)
    outcome = cli("config", "seal")
    assert outcome.exit_code == 2
    assert outcome.stderr == "error: mreg.yaml: policy.evidence.max_age: Value error, '1w' is not a duration like 7d, 12h, 30m or 3600s\n"
    assert snapshot(registry_url) == before


def test_config_seal_never_changes_the_format(cli, registry_url):
    storage = open_storage(registry_url)
    storage.replace("mreg.yaml", storage.read("mreg.yaml").replace(b"format: 2", b"format: 3"))
    before = snapshot(registry_url)
    outcome = cli("config", "seal")
    assert outcome.exit_code == 2 and "set by 'mreg upgrade' only" in outcome.stderr
    assert snapshot(registry_url) == before


def test_config_seal_in_a_real_process(tmp_path):
    registry = str(tmp_path / "registry")
    cli = Cli(registry)
    cli.ok("init", registry)
    _edit_config(registry, POLICY)
    done = cli.subprocess("config", "seal")
    assert (done.exit_code, done.stdout) == (0, "mreg.yaml checked and sealed\n")
    assert cli.subprocess("models").exit_code == 0
