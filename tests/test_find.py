"""``mreg find`` on the example: the issue's query, ordering, limits, JSON and errors."""

from __future__ import annotations

import json

import pytest

import mreg
from conftest import EXAMPLE, Cli, snapshot

pytestmark = pytest.mark.local_only
ISSUE_QUERY = "framework LIKE 'PyTorch%' AND metrics.engagement_rate >= 0.28 AND state IN ('production','canary')"


def test_the_issue_query_finds_the_serving_pytorch_version():
    found = json.loads(Cli(str(EXAMPLE)).ok("find", ISSUE_QUERY, "--json"))
    assert [(v["model"], v["version"], v["state"]) for v in found["versions"]] == [("MDL-REC", "v12.4", "production")]
    assert found["fields"] == ["framework", "metrics.engagement_rate"]


def test_the_issue_query_as_written_answers_on_the_example():
    """Issue 13's query word for word (>= 0.3): v12.4 is PyTorch and serving, but at 0.291."""
    literal = ISSUE_QUERY.replace(">= 0.28", ">= 0.3")
    everything = mreg.open(EXAMPLE).find().versions
    expected = [(v.model, v.version) for v in everything if (v.framework or "").startswith("PyTorch")
                and v.metrics.get("engagement_rate", -1) >= 0.3 and v.state in ("production", "canary")]
    outcome = Cli(str(EXAMPLE))("find", literal, "--json")
    assert outcome.exit_code == 0 and outcome.stderr == ""
    assert [(v["model"], v["version"]) for v in json.loads(outcome.stdout)["versions"]] == expected == []
    assert [v.metrics["engagement_rate"] for v in everything if v.model == "MDL-REC" and v.version == "v12.4"] == [0.291]


def test_order_by_and_limit_rank_versions_across_models():
    text = Cli(str(EXAMPLE)).ok("find", "metrics.engagement_rate > 0", "--order-by", "metrics.engagement_rate DESC", "-n", "2")
    lines = text.splitlines()
    assert lines[0].split() == ["Version", "State", "metrics.engagement_rate"]
    assert [line.split()[0] for line in lines[1:]] == ["MDL-REC@v12.4", "MDL-REC@v12.0"]


def test_or_not_and_datasets_which_mlflow_cannot_express():
    reg = mreg.open(EXAMPLE)
    deprecated_or_old = reg.find("state = 'deprecated' OR NOT registered >= '2025'")
    assert {v.state for v in deprecated_or_old.versions} <= {"deprecated", "production", "archived"}
    assert all(v.state == "deprecated" or v.registered < "2025" for v in deprecated_or_old.versions)
    with_data = reg.find("dataset ILIKE 'member%'").versions
    assert with_data and all(any(d.lower().startswith("member") for d in v.datasets) for v in with_data)


def test_every_version_without_a_query_in_natural_order():
    versions = mreg.open(EXAMPLE).find().versions
    rec = [v.version for v in versions if v.model == "MDL-REC"]
    assert rec == ["v10.0", "v11.0", "v12.0", "v12.4"]
    assert len(versions) == sum(row.versions for row in mreg.open(EXAMPLE).models())


def test_a_bad_query_points_at_the_column_and_changes_nothing():
    before = snapshot(EXAMPLE)
    outcome = Cli(str(EXAMPLE))("find", "metrics.x >= AND state = 'production'")
    assert outcome.exit_code == 2 and outcome.stdout == ""
    assert outcome.stderr.startswith("error: invalid query at column 14:")
    misspelt = Cli(str(EXAMPLE))("find", "state = 'prodution'")
    assert misspelt.exit_code == 2 and "did you mean 'production'?" in misspelt.stderr
    assert snapshot(EXAMPLE) == before
