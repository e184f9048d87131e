"""Model cards: one Markdown document per version, generated from what the registry holds.

The card is deterministic (same registry, same bytes), so a team can commit it next to the
model's code and review changes to it in a pull request. Sections follow the seed's Model
Cards row (intended use, limitations, fairness assessment) and add what a reviewer needs
to trust them: lifecycle state, lineage, metrics judged against the model's baselines.
"""

from __future__ import annotations

from typing import Any

from mreg.results import CardView


def _cell(value: Any) -> str:
    text = "-" if value in (None, "") else (f"{value:g}" if isinstance(value, float) else str(value))
    return text.replace("|", "\\|").replace("\n", " ")


def _table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines + [""]


def render_markdown(view: CardView) -> str:
    model, manifest = view.model, view.manifest
    card = manifest.get("model_card", {})
    lines = [f"# Model card: {model['name']} ({manifest['model']}@{manifest['version']})", ""]
    lines += _table(
        ["Status", "Task", "Framework", "Serving mode", "Training period", "Registered"],
        [[view.status.capitalize(), model.get("task"), model.get("framework"), model.get("serving_mode"),
          manifest.get("training_period"), manifest.get("registered_at")]],
    )
    for title, key in (("Intended use", "intended_use"), ("Limitations", "limitations"),
                       ("Fairness assessment", "fairness"), ("Ethical considerations", "ethical_considerations")):
        lines += [f"## {title}", "", card.get(key) or "_Not recorded._", ""]
    if manifest.get("key_change") or manifest.get("notes"):
        lines += ["## This version", "", *(f"- {text}" for text in (manifest.get("key_change"), manifest.get("notes")) if text), ""]
    lines += ["## Performance against baselines", ""]
    if view.check["metrics"]:
        reference = view.check.get("reference")
        lines += _table(
            ["Metric", "Value", f"Reference ({reference})" if reference else "Reference", "Verdict", "Rule"],
            [[m["metric"], m["value"], m["reference"], m["verdict"], m["rule"]] for m in view.check["metrics"]],
        )
    else:
        lines += ["_The model has no baselines._", ""]
    if manifest.get("datasets"):
        lines += ["## Training data", ""]
        lines += _table(["Dataset", "Source", "Snapshot", "Refresh"],
                        [[d["name"], d.get("source"), d.get("snapshot") or d.get("digest"), d.get("refresh")] for d in manifest["datasets"]])
    provenance = [("Parents", ", ".join(manifest.get("parents", [])) or None),
                  ("Run", " ".join(str(v) for v in manifest.get("run", {}).values()) or None),
                  ("Manifest digest", view.manifest_digest)]
    lines += ["## Provenance", ""] + [f"- {key}: {value}" for key, value in provenance if value] + [""]
    if manifest.get("artifacts"):
        lines += _table(["Artifact", "Kind", "Size", "Digest"],
                        [[a["path"], a.get("kind", "file"), a["size"], a["digest"]] for a in manifest["artifacts"]])
    return "\n".join(lines).rstrip("\n") + "\n"
