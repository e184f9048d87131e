"""The card's front matter in the Hugging Face Hub's model-card metadata names.

``model_name``, ``license``, ``library_name``, ``tags``, ``datasets``, ``metrics`` and ``model-index`` (the
version's offline metrics as evaluation results) are what the Hub and its tools read; the
``mreg`` key adds what identifies the registry entry. Keys without a recorded fact are left
out rather than filled with a guess.
"""

from __future__ import annotations

import re
from typing import Any

from mreg.card.facts import CardFacts

# Hub library names, recognised in the model's free-text framework (first match wins)
LIBRARIES = (("pytorch", "pytorch"), ("tensorflow", "tensorflow"), ("keras", "keras"), ("scikit-learn", "sklearn"),
             ("sklearn", "sklearn"), ("xgboost", "xgboost"), ("lightgbm", "lightgbm"), ("jax", "jax"), ("onnx", "onnx"))
EVALUATION_DATASET = {"type": "mreg-offline-evaluation", "name": "Offline evaluation recorded at registration"}


def library_name(framework: str | None) -> str | None:
    text = (framework or "").lower()
    return next((library for word, library in LIBRARIES if word in text), None)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def front_matter(facts: CardFacts) -> dict[str, Any]:
    model, manifest = facts.model, facts.manifest
    titles = {baseline.metric: baseline.title for baseline in model.baselines if baseline.title}
    data: dict[str, Any] = {"model_name": facts.ref}
    if model.license:
        data["license"] = model.license
    if library_name(model.framework):
        data["library_name"] = library_name(model.framework)
    data["tags"] = ["mreg", model.id, facts.status]
    if manifest.datasets:
        data["datasets"] = [dataset.name for dataset in manifest.datasets]
    if manifest.metrics:
        data["metrics"] = list(manifest.metrics)
        task = {"type": _slug(model.task), "name": model.task} if model.task else {"type": "unspecified"}
        data["model-index"] = [{
            "name": facts.ref,
            "results": [{
                "task": task,
                "dataset": dict(EVALUATION_DATASET),
                "metrics": [{"type": name, "value": value, **({"name": titles[name]} if name in titles else {})}
                            for name, value in manifest.metrics.items()],
            }],
        }]
    data["mreg"] = {"model": model.id, "version": manifest.version, "status": facts.status,
                    "manifest": facts.manifest_digest}
    return data
