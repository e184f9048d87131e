"""register --capture-env and --params, mreg env, and diff's parameter and environment rows."""

from __future__ import annotations

import json
from importlib import metadata

from conftest import add_model, snapshot, write


def test_capture_env_and_params_are_recorded_shown_and_turned_back_into_requirements(cli, tmp_path):
    add_model(cli, "M")
    params = write(tmp_path / "params.json", json.dumps({"lr": 0.02, "optimizer": {"name": "adam", "betas": [0.9, 0.99]}}))
    cli.ok("register", "M@v1", "--capture-env", "--params", str(params))
    manifest = json.loads(cli.ok("show", "M@v1", "--json"))["manifest"]
    assert manifest["parameters"] == {"lr": 0.02, "optimizer.betas": [0.9, 0.99], "optimizer.name": "adam"}
    environment = manifest["environment"]
    assert environment["packages"]["pydantic"] == metadata.version("pydantic") and environment["source"] == "captured"
    requirements = cli.ok("env", "M@v1")
    assert f"pydantic=={metadata.version('pydantic')}\n" in requirements and requirements.startswith("# Pinned by mreg")
    assert json.loads(cli.ok("env", "M@v1", "--format", "json")) == environment
    text = cli.ok("show", "M@v1")
    assert "optimizer.name" in text and "adam" in text


def test_diff_lists_parameter_and_package_moves_in_pep440_order(cli, tmp_path):
    add_model(cli, "M")
    for version, lr, torch, numpy, other, commit in (("v1", 0.01, "2.10.0", "1.26.4", "six: '1.16.0'", "a" * 40),
                                                     ("v2", 0.02, "2.9.1", "2.0.0", "idna: '3.7'", "b" * 40)):
        manifest = write(tmp_path / f"{version}.yaml", f"parameters: {{lr: {lr}}}\nenvironment:\n  python: '3.11.7'\n"
                         f"  packages: {{torch: '{torch}', numpy: '{numpy}', {other}}}\n"
                         f"  git: {{commit: {commit}, dirty: false}}\n")
        cli.ok("register", f"M@{version}", "-f", str(manifest))
    diff = json.loads(cli.ok("diff", "M@v1", "M@v2", "--json"))
    assert diff["parameters"] == [{"field": "lr", "change": "changed", "a": 0.01, "b": 0.02}]
    moves = {row["name"]: row["change"] for row in diff["packages"]}
    assert moves == {"torch": "downgraded", "numpy": "upgraded", "six": "removed", "idna": "added"}  # 2.10 > 2.9
    fields = {row["field"]: (row["a"], row["b"]) for row in diff["environment"]}
    assert fields == {"git.commit": ("a" * 40, "b" * 40)}
    assert "git.commit" in cli.ok("diff", "M@v1", "M@v2") and "downgraded" in cli.ok("diff", "M@v1", "M@v2")


def test_env_of_a_version_without_one_and_a_bad_params_file_are_refused(cli, tmp_path, registry_url):
    add_model(cli, "M")
    cli.ok("register", "M@v1")
    outcome = cli("env", "M@v1")
    assert outcome.exit_code == 3 and outcome.stderr == "error: M@v1 has no recorded environment (register with --capture-env)\n"
    before = snapshot(registry_url)
    bad = write(tmp_path / "params.yaml", "- just\n- a list\n")
    outcome = cli("register", "M@v2", "--params", str(bad))
    assert outcome.exit_code == 2 and "parameters must be a mapping" in outcome.stderr
    assert cli("register", "M@v2", "--dataset-from", "a=b").exit_code == 2
    assert cli("env", "M@v1", "--format", "yaml").exit_code == 2
    assert snapshot(registry_url) == before
