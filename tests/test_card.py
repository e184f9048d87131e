"""Model cards: Markdown generated from the registry, deterministic, honest about baselines."""

from __future__ import annotations

import json

from conftest import EXAMPLE, Cli, write


def test_the_example_card_carries_the_seed_model_card_fields_and_is_deterministic():
    cli = Cli(str(EXAMPLE))
    first, second = cli.ok("card", "MDL-REC@v12.4"), cli.ok("card", "MDL-REC@v12.4")
    assert first == second
    assert first.startswith("# Model card: Recommendation Ensemble (MDL-REC@v12.4)\n")
    for heading in ("## Intended use", "## Limitations", "## Fairness assessment", "## Performance against baselines",
                    "## Training data", "## Provenance"):
        assert heading in first
    assert "| homepage_latency_p95_ms | 219 | 228 | improvement |" in first  # against v12.0, its parent
    assert "| Member interaction history | Kafka event streams, processed by Flink | 2025-10-31 |" in first


def test_a_card_shows_a_regression_against_production(cli, tmp_path):
    spec = write(tmp_path / "m.yaml", "name: Model\nbaselines:\n- metric: latency_ms\n  direction: lower\n  max: 100\n")
    cli.ok("model", "add", "M", "-f", str(spec))
    cli.ok("register", "M@v1", "-m", "latency_ms=80")
    for state in ("experimentation", "candidate", "canary", "production"):
        cli.ok("promote", "M@v1", "--to", state)
    cli.ok("register", "M@v2", "-m", "latency_ms=120")
    card = cli.ok("card", "M@v2")
    assert "| latency_ms | 120 | 80 | regression | latency_ms = 120 exceeds the bound 100 |" in card
    assert "_Not recorded._" in card  # no model card fields were given
    view = json.loads(cli.ok("card", "M@v2", "--json"))
    assert view["status"] == "development" and view["check"]["verdict"] == "fail"
