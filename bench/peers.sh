#!/usr/bin/env bash
# Run bench/run.py's workload on the peers, each installed in its own venv, then re-render
# docs/benchmarks.md:   bash bench/peers.sh [SIZES]    (default 3x10,300x10)
# MLflow's registry runs on a sqlite store through its API (mlflow-skinny: the registry
# without the server and UI); GTO runs its CLI on a git repository of annotated tags.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sizes="${1:-3x10,300x10}"
venvs="$here/results/venvs"
mkdir -p "$venvs"
install() {  # install NAME PACKAGES...: a venv of its own, so neither peer's pins touch mreg's
  local name="$1"; shift
  if [ ! -x "$venvs/$name/bin/python" ]; then
    python3 -m venv "$venvs/$name"
    "$venvs/$name/bin/pip" install -q "$@"
  fi
}
install mlflow 'mlflow-skinny>=3,<4' sqlalchemy alembic
install gto 'gto>=1.10,<2'
command -v git >/dev/null || { apt-get update -q && apt-get install -y -q git; }
python3 "$here/peers.py" mlflow --python "$venvs/mlflow/bin/python" --sizes "$sizes"
python3 "$here/peers.py" gto --python "$venvs/gto/bin/python" --sizes "$sizes"
python3 "$here/report.py"
