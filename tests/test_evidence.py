"""Evidence bound to its version, the policy that says which edges need it, and the planning
step that checks everything before anything is stored (docs/gates.md, "Evidence")."""

from __future__ import annotations

from conftest import add_model, snapshot, write


def test_a_refused_monitor_stores_nothing_not_even_its_metrics_file(cli, registry_url, tmp_path):
    add_model(cli, "M")
    cli.ok("register", "M@v1")
    metrics = write(tmp_path / "today.yaml", "latency: 1.5\n")
    before = snapshot(registry_url)
    refused = cli("monitor", "M", "--metrics", str(metrics))
    assert refused.exit_code == 2, refused.stderr
    assert "no version in production" in refused.stderr
    assert snapshot(registry_url) == before  # the metrics file was not kept as an orphan blob
