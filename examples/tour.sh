#!/usr/bin/env bash
# A read-only tour of registry-example/: the seed's Model Registry View, made operable.
# Nothing here writes to the registry (its derived .cache/ aside, which git ignores).
set -euo pipefail
cd "$(dirname "$0")/.."
export MREG_REGISTRY=registry-example
mreg=${MREG:-"python3 -m mreg"}

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ mreg %s%s\n' "$bold" "$*" "$plain"; $mreg "$@"; }

step models                                    # the seed's Model Inventory
step show MDL-REC                              # versioning, dependencies, baselines
step show MDL-REC@v12.4                        # one manifest: datasets, metrics, artifacts, card
step log MDL-REC                               # every registration and event, newest first
step status MDL-REC --at 2025-06-01            # what served on a past day
step states --format mermaid                   # the lifecycle law, drawn from the code
step lineage MDL-REC@v12.4 --both              # datasets -> versions -> services
step impact "dataset:Member interaction history"   # what a data change would touch
step diff MDL-REC@v12.0 MDL-REC@v12.4          # what changed, and does it regress a baseline?
step env MDL-REC@v12.4                         # the pinned requirements it was trained with
step card MDL-REC@v12.4                        # its model card (Markdown, Hugging Face front matter)
card=$(mktemp -d)/MDL-REC-v12.4.html
step card MDL-REC@v12.4 --format html -o "$card"   # one self-contained page
echo "(wrote $card)"
step verify --deep                             # every digest, chain and blob re-checked

# Registering from a real Metaflow run, into a scratch registry (needs mreg[metaflow]).
if python3 -c 'import metaflow' 2>/dev/null; then
  scratch=$(mktemp -d)
  export HOME=${HOME:-$scratch} USERNAME=${USERNAME:-tour} METAFLOW_DEFAULT_DATASTORE=local \
    METAFLOW_DEFAULT_METADATA=local METAFLOW_DATASTORE_SYSROOT_LOCAL="$scratch/metaflow"
  printf '\n%s$ python examples/metaflow/recommendation_flow.py run --lr 0.02%s\n' "$bold" "$plain"
  python3 examples/metaflow/recommendation_flow.py run --lr 0.02 --run-id-file "$scratch/run-id" 2>&1 | tail -2
  export MREG_REGISTRY="$scratch/registry"
  $mreg init "$MREG_REGISTRY" >/dev/null
  $mreg model add MDL-REC --from-file examples/seed/models/MDL-REC.yaml >/dev/null
  run="RecommendationEnsembleFlow/$(cat "$scratch/run-id")/train"
  step register MDL-REC@v12.5 --from-metaflow "$run" -a model -a eval --dataset-from "Member interaction history=snapshot" --capture-env
  step show MDL-REC@v12.5                      # the run, its parameters, the captured environment
  step lineage MDL-REC@v12.5                   # the run is a node, with its flow and steps
else
  echo; echo "(pip install -e '.[metaflow]' to see a registration from a Metaflow run here)"
fi
