"""Views a daily user leans on: versions with metrics, log filters, status before history."""

from __future__ import annotations

import json

import pytest

from conftest import EXAMPLE, Cli

pytestmark = pytest.mark.local_only


@pytest.fixture
def example():
    return Cli(str(EXAMPLE))


def test_show_model_json_lists_each_versions_metrics(example):
    versions = json.loads(example.ok("show", "MDL-REC", "--json"))["versions"]
    best = max(versions, key=lambda row: row["metrics"]["engagement_rate"])
    assert best["version"] == "v12.4" and best["metrics"]["engagement_rate"] == 0.291


def test_log_filters_by_version_time_and_count(example):
    entries = json.loads(example.ok("log", "MDL-REC@v12.0", "--json"))
    assert entries and all(any(c["version"] == "v12.0" for c in entry["changes"]) for entry in entries)
    assert entries[-1]["action"] == "register"
    recent = json.loads(example.ok("log", "--since", "2025-10-01", "--json"))
    assert recent and all(entry["time"] >= "2025-10-01" for entry in recent)
    assert len(json.loads(example.ok("log", "--limit", "3", "--json"))) == 3
    assert example("log", "MDL-REC@v99").exit_code == 3
    assert example("log", "--since", "yesterday-ish").exit_code == 2


def test_status_before_anything_existed_says_so(example):
    text = example.ok("status", "MDL-REC", "--at", "2020-01-01")
    assert text == "MDL-REC at 2020-01-01T00:00:00Z: no version was registered yet\n"
