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
step verify --deep                             # every digest, chain and blob re-checked
