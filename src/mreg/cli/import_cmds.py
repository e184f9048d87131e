"""``mreg import``: bring versions in from elsewhere: MLflow, or manifest files in bulk."""

from __future__ import annotations

from typing import List

import typer

from mreg.cli import output, session
from mreg.cli.application import app
from mreg.cli.inputs import read_manifests
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


@command(import_app, "manifests")
def import_manifests(
    sources: List[str] = typer.Argument(
        ..., metavar="PATH|-",
        help="A manifest file, a directory of them (*.yaml, *.yml, *.json, recursively), or - for stdin (documents split by ---).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was registered and what was already there as JSON."),
) -> None:
    """Register many versions from manifest files at once, checked as a whole and written as one durable batch.

    Each manifest names its model and version; artifact records must name blobs already in the
    store. Any bad manifest refuses the import and writes nothing; a version already registered
    alike is skipped (rerun an interrupted import), one registered differently is a conflict (4).

    Example: mreg import manifests exported/ ; generate-manifests | mreg import manifests -
    """
    from mreg.registry import NewVersion

    versions = [NewVersion(data, source) for source, data in read_manifests(list(sources))]
    report = session.registry().register_many(versions)
    if as_json:
        output.emit_json(report.to_json_data())
        return
    output.line(f"registered {len(report.registered)} versions ({len(report.already_there)} already there)")
