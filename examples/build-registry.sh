#!/usr/bin/env bash
# Rebuild registry-example/ from the seed's facts in examples/seed/, through mreg commands only.
# Every command runs at a fixed instant (SOURCE_DATE_EPOCH) as a fixed actor, so the result
# is byte-for-byte the committed registry; tests/test_example.py checks exactly that.
#
#   usage: examples/build-registry.sh [TARGET]      (default: registry-example; must not exist)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
seed="$here/seed"
target=${1:-registry-example}
mreg=${MREG:-"python3 -m mreg"}
export MREG_ACTOR=ml-platform@example.com
unset MREG_REGISTRY

if [ -e "$target" ]; then
  echo "build-registry: $target already exists; remove it first" >&2
  exit 2
fi

# at DATE COMMAND...: run COMMAND as if it were DATE (UTC midnight)
epoch() { date -u -d "$1" +%s 2>/dev/null || python3 -c 'import datetime, sys; print(int(datetime.datetime.fromisoformat(sys.argv[1] + "T00:00:00+00:00").timestamp()))' "$1"; }
at() { local when=$1; shift; SOURCE_DATE_EPOCH=$(epoch "$when") "$@"; }
run() { $mreg --registry "$target" "$@" >/dev/null; }

# The canary samples in seed/canary/MODEL/VERSION/ are illustrative (drawn around each
# version's metrics, or service metrics for models without any), as the seed's details are.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# release MODEL VERSION REGISTERED EXPERIMENT CANDIDATE CANARY PRODUCTION [register options...]
release() {
  local model=$1 version=$2 registered=$3 experiment=$4 candidate=$5 canary=$6 production=$7
  shift 7
  at "$registered" run register "$model@$version" -f "$seed/versions/$model/$version.yaml" "$@"
  at "$experiment" run promote "$model@$version" --to experimentation --reason "experiments via Metaflow"
  at "$candidate" run promote "$model@$version" --to candidate --reason "offline evaluation passed"
  at "$canary" run promote "$model@$version" --to canary --reason "deployed to a small traffic fraction"
  # the canary judgement (Kayenta-style) that the canary -> production edge requires as evidence
  local samples="$seed/canary/$model/$version" judged="$scratch/judge-$model-$version.json"
  at "$production" run judge "$model@$version" --canary "$samples/canary.json" --baseline "$samples/baseline.json" -o "$judged"
  at "$production" run promote "$model@$version" --to production --reason "canary metrics pass" --evidence "$judged"
}

at 2024-01-02 $mreg init "$target" >/dev/null
# The example keeps its small blobs in git on purpose (init in a git work tree would ignore
# objects/), so the tour works offline; say so in its .gitignore.
cat > "$target/.gitignore" <<'GITIGNORE'
# derived and temporary files; never the source of truth
.cache/
.tmp/
# objects/ is deliberately NOT ignored here: this example's few small blobs live in git so
# the tour works offline. A real registry keeps blobs in a remote (docs/remotes.md), and
# 'mreg init' in a git work tree or 'mreg remote add' adds objects/ to .gitignore.
GITIGNORE
# the seed's inventory order is the order the models were added
at 2024-01-02 run model add MDL-REC --from-file "$seed/models/MDL-REC.yaml"
at 2024-01-03 run model add MDL-PERS --from-file "$seed/models/MDL-PERS.yaml"
at 2024-01-04 run model add MDL-QUAL --from-file "$seed/models/MDL-QUAL.yaml"
at 2024-01-05 run model add MDL-SEARCH --from-file "$seed/models/MDL-SEARCH.yaml"
at 2024-01-08 run model add MDL-EXP --from-file "$seed/models/MDL-EXP.yaml"

rec() { local version=$1; shift; release MDL-REC "$version" "$@" -a "$seed/artifacts/MDL-REC/$version/model" -a "$seed/artifacts/MDL-REC/$version/eval-report.json"; }
rec v10.0 2024-02-26 2024-02-27 2024-03-04 2024-03-11 2024-03-25
rec v11.0 2024-08-26 2024-08-27 2024-09-02 2024-09-09 2024-09-23
rec v12.0 2025-02-24 2025-02-25 2025-03-03 2025-03-10 2025-03-24
rec v12.4 2025-11-03 2025-11-04 2025-11-10 2025-11-17 2025-11-24

other() { local model=$1 version=$2; shift 2; release "$model" "$version" "$@" -a "$seed/artifacts/$model/$version/model.json"; }
other MDL-PERS v8.2 2025-09-01 2025-09-02 2025-09-08 2025-09-15 2025-09-22
other MDL-QUAL v5.1 2025-07-01 2025-07-02 2025-07-07 2025-07-14 2025-07-21
other MDL-SEARCH v6.7 2025-10-01 2025-10-02 2025-10-06 2025-10-13 2025-10-20
other MDL-EXP v3.0 2025-05-01 2025-05-02 2025-05-05 2025-05-12 2025-05-19

rm -rf "$target/.cache" "$target/.tmp"
echo "built $target"
