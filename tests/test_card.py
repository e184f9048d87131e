"""Model cards: registry facts only, Markdown that the Hugging Face Hub's own parser reads,
HTML that headless Chromium renders without one network request; same registry, same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chromium import Browser
from conftest import EXAMPLE, Cli, _require, write

EXAMPLE_CLI = Cli(str(EXAMPLE))


def example_refs() -> list[str]:
    refs = []
    for row in json.loads(EXAMPLE_CLI.ok("models", "--json")):
        refs += [f"{row['id']}@{v['version']}" for v in json.loads(EXAMPLE_CLI.ok("show", row["id"], "--json"))["versions"]]
    return refs


def test_every_example_card_round_trips_through_huggingface_hubs_parser(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repocard = pytest.importorskip("huggingface_hub")
    refs = example_refs()
    assert len(refs) == 8
    for ref in refs:
        path = tmp_path / f"{ref}.md"
        EXAMPLE_CLI.ok("card", ref, "-o", str(path))
        view = json.loads(EXAMPLE_CLI.ok("show", ref, "--json"))
        manifest = view["manifest"]
        card = repocard.ModelCard.load(path)
        data = card.data.to_dict()
        assert card.data.model_name == ref
        assert {(r.metric_type, r.metric_value) for r in card.data.eval_results or []} == set(manifest.get("metrics", {}).items())
        model = json.loads(EXAMPLE_CLI.ok("show", manifest["model"], "--json"))["model"]
        assert not manifest.get("metrics") or {r.task_name for r in card.data.eval_results} == {model["task"]}
        assert data.get("datasets") == ([d["name"] for d in manifest.get("datasets", [])] or None)
        assert data.get("metrics") == (sorted(manifest.get("metrics", {})) or None)
        assert data["mreg"] == {"model": manifest["model"], "version": manifest["version"], "status": view["status"],
                                "manifest": view["manifest_digest"]}
        assert data.get("library_name") == ("pytorch" if "PyTorch" in model["framework"] else None)  # MDL-EXP: Statsmodels
        assert manifest["model"] in data["tags"]
        assert card.text.lstrip().startswith("# ")  # the body follows the front matter


def test_the_rec_card_states_the_seed_facts_and_the_path_to_production():
    card = EXAMPLE_CLI.ok("card", "MDL-REC@v12.4")
    assert card == EXAMPLE_CLI.ok("card", "MDL-REC@v12.4", "--format", "md")
    body = card.split("\n---\n", 1)[1]
    assert body.startswith("\n# Recommendation Ensemble\n\nModel card for MDL-REC@v12.4\n")
    for heading in ("Purpose and intended use", "Limitations", "Fairness assessment", "Architecture",
                    "Training data and lineage", "Dependencies", "Parameters", "Environment", "Metrics against baselines",
                    "Version history", "Path to production", "Training run", "Artifacts"):
        assert f"\n## {heading}\n" in body
    assert "| Homepage load latency (P95) | 219 | 228 | lower is better; <= 250; critical | improvement |" in body
    assert "| Member interaction history | Kafka event streams, processed by Flink |" in body
    assert "| upstream | Kafka | interaction events |" in body and "| downstream | API Gateway |" in body
    assert "| `learning_rate` | 0.0008 |" in body
    assert "| v12.0 | 2025-Q1 | Contextual bandit integration for real-time exploration | Deprecated |" in body
    assert ("| 2025-11-24T00:00:00Z | canary -> production | ml-platform@example.com | canary metrics pass | Pass, pass | "
            "`judge: judged against MDL-REC@v12.0 at 2025-11-24T00:00:00Z, score 100 (sha256:") in body
    assert "`gate:production: production gate passed (1 metrics) (sha256:" in body
    assert "- **License:** " not in body and "| License | Not recorded. |" in body  # missing facts say so


def test_a_sparse_card_says_what_is_not_recorded_and_shows_a_regression(cli, tmp_path):
    spec = write(tmp_path / "m.yaml", "name: Model\nbaselines:\n- metric: latency_ms\n  direction: lower\n  max: 100\n")
    cli.ok("model", "add", "M", "-f", str(spec))
    cli.ok("register", "M@v1", "-m", "latency_ms=80")
    for state in ("experimentation", "candidate", "canary"):
        cli.ok("promote", "M@v1", "--to", state)
    cli.ok("promote", "M@v1", "--to", "production", "--evidence", cli.judged("M@v1"))
    cli.ok("register", "M@v2", "-m", "latency_ms=120")
    card = cli.ok("card", "M@v2")
    assert "| `latency_ms` | 120 | 80 | lower is better; <= 100 | regression | latency_ms = 120 exceeds the bound 100 |" in card
    for heading in ("Limitations", "Fairness assessment", "Architecture", "Parameters", "Environment", "Training run"):
        assert f"## {heading}\n\n_Not recorded._\n" in card
    assert "No lifecycle events: the version is in development." in card
    assert "library_name" not in card.split("\n---\n")[0]  # no framework recorded, so none claimed


def test_cards_are_deterministic_in_both_formats(tmp_path):
    for format in ("md", "html"):
        first, second = tmp_path / f"a.{format}", tmp_path / f"b.{format}"
        EXAMPLE_CLI.ok("card", "MDL-REC@v12.4", "--format", format, "-o", str(first))
        EXAMPLE_CLI.ok("card", "MDL-REC@v12.4", "--format", format, "-o", str(second))
        assert first.read_bytes() == second.read_bytes()
    assert EXAMPLE_CLI("card", "MDL-REC@v12.4", "--format", "pdf").exit_code == 2


def test_the_html_card_renders_offline_in_chromium(tmp_path):
    _require("chromium", "Debian package chromium")
    page = tmp_path / "card.html"
    EXAMPLE_CLI.ok("card", "MDL-REC@v12.4", "--format", "html", "-o", str(page))
    html = page.read_text()
    assert "<script" not in html and "<link" not in html and "url(" not in html and "@import" not in html
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(page.as_uri())
        assert browser.requests() == [page.as_uri()]  # the page itself, nothing else
        assert browser.evaluate("document.querySelector('h1').textContent") == "Recommendation Ensemble"
        rows = browser.evaluate("""[...document.querySelectorAll('section')].find(s => s.querySelector('h2').textContent
            === 'Metrics against baselines').querySelectorAll('tbody tr').length""")
        assert rows == 4
        headers = browser.evaluate("[...document.querySelectorAll('section h2')].map(h => h.textContent)")
        assert headers[0] == "Purpose and intended use" and "Path to production" in headers
        shot = browser.screenshot(tmp_path / "card.png")
    finally:
        browser.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
