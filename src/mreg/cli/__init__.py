"""The ``mreg`` command line: a thin Typer layer over ``mreg.registry.Registry``.

Each command module registers its commands on ``app``; heavy modules (networkx, s3fs,
scipy) are imported inside the commands that need them, so ``mreg --help`` stays fast.
"""

from __future__ import annotations

from mreg.cli import core, gate_cmds, import_cmds, lifecycle_cmds, lineage_cmds, remote_cmds  # command modules register on app
from mreg.cli.application import app

__all__ = ["app", "main", "core", "gate_cmds", "import_cmds", "lifecycle_cmds", "lineage_cmds", "remote_cmds"]


def main() -> None:
    app(prog_name="mreg")  # also under ``python -m mreg``, so usage and completion say mreg
