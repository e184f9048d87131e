"""The ``mreg`` command line: a thin Typer layer over ``mreg.registry.Registry``.

Each command module registers its commands on ``app``; heavy modules (networkx, s3fs,
scipy) are imported inside the commands that need them, so ``mreg --help`` stays fast.
"""

from __future__ import annotations

import gc

from mreg.cli import core, gate_cmds, import_cmds, lifecycle_cmds, lineage_cmds, remote_cmds  # command modules register on app
from mreg.cli.application import app

__all__ = ["app", "main", "core", "gate_cmds", "import_cmds", "lifecycle_cmds", "lineage_cmds", "remote_cmds"]


GC_THRESHOLDS = (100_000, 50, 1_000)  # Python's default is (700, 10, 10)


def main() -> None:
    # One command, then exit: a read at 3,000 models allocates millions of objects and
    # keeps most of them, and the default thresholds spent 40% of a warm ``models`` in
    # collections that found nothing to free. Collect, but rarely.
    gc.set_threshold(*GC_THRESHOLDS)
    app(prog_name="mreg")  # also under ``python -m mreg``, so usage and completion say mreg
