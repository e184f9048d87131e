"""``mreg import``: bring models in from elsewhere (MLflow; manifests files)."""

from __future__ import annotations

from typing import List

import typer

from mreg.cli import output, session
from mreg.cli.application import app
from mreg.cli.session import command

import_app = typer.Typer(help="Import models from other registries and files.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@command(import_app, "mlflow")
def import_mlflow(
    tracking_uri: str = typer.Option(..., "--tracking-uri", metavar="URI", help="MLflow tracking/registry URI, e.g. sqlite:///mlflow.db."),
    model: List[str] = typer.Option([], "--model", metavar="NAME", help="An MLflow registered model to import (repeatable; default: all)."),
    alias_map: List[str] = typer.Option(
        [], "--map", metavar="ALIAS=STATE", help="Give versions with this MLflow alias this mreg state (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Import MLflow registered models: versions, run params/metrics/datasets, artifacts, stages and aliases.

    Stages map Staging -> candidate, Production -> production, Archived -> archived; each becomes an
    'import' event with MLflow's time. Re-running imports only what is new (needs mreg[mlflow]).

    Example: mreg import mlflow --tracking-uri sqlite:///mlflow.db --model rec --map champion=production
    """
    report = session.registry().import_mlflow(tracking_uri, list(model), list(alias_map))
    if as_json:
        output.emit_json(report.to_json_data())
        return
    output.line(
        f"imported {len(report.models_added)} models, {len(report.versions_added)} versions, "
        f"{len(report.events_added)} state changes ({report.already_there} versions already there)"
    )
