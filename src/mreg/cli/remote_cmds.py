"""Remotes and transfers: remote add/list/remove, push, fetch, clone, bundle create/apply."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import List, Optional

import typer

from mreg.cli import output, session
from mreg.cli.application import app
from mreg.cli.session import command

JSON = typer.Option(False, "--json", help="Print the summary as JSON (moved, already_there, failed, behind).")
DRY_RUN = typer.Option(False, "--dry-run", "-n", help="Plan and report what would move; write nothing.")
REMOTE = typer.Option(None, "--remote", metavar="NAME", help="Which remote (default: origin, else the only one).")

remote_app = typer.Typer(help="The registries this one pushes to and fetches from (kept in mreg.yaml).", no_args_is_help=True)
app.add_typer(remote_app, name="remote")
bundle_app = typer.Typer(help="One-file bundles of models for sites without a network path.", no_args_is_help=True)
app.add_typer(bundle_app, name="bundle")


def _render(report, verb: str, as_json: bool) -> None:
    if as_json:
        output.emit_json(report.to_json_data())
        return
    moved, there = report.moved, report.already_there
    prefix = "would move" if report.dry_run else verb
    output.line(
        f"{prefix} {moved['manifests']} versions, {moved['events']} events, {moved['blobs']} blobs "
        f"({moved['bytes']} bytes) from {report.source} to {report.destination}; already there: "
        f"{there['manifests']} versions, {there['events']} events, {there['blobs']} blobs"
    )
    for model in report.behind:
        output.line(f"{model}: the destination has newer events than the source (fetch them first)")


def _bar(description: str):
    return functools.partial(output.progress, description)


@command(remote_app, "add")
def remote_add(
    name: str = typer.Argument(..., metavar="NAME", help="A short name, e.g. origin."),
    url: str = typer.Argument(..., metavar="PATH_OR_URL", help="The remote registry: a directory, file:// or s3://bucket/prefix."),
) -> None:
    """Record a remote in mreg.yaml (commit it); objects/ is then git-ignored.

    Example: mreg remote add origin s3://ml-registry/prod
    """
    session.registry().remote_add(name, url)
    output.line(f"added remote {name} -> {url}")


@command(remote_app, "list")
def remote_list(as_json: bool = typer.Option(False, "--json", help="Print {name: url} as JSON.")) -> None:
    """List the remotes recorded in mreg.yaml.

    Example: mreg remote list
    """
    remotes = session.registry().config.remotes
    if as_json:
        output.emit_json(remotes)
        return
    for name, url in remotes.items():
        output.line(f"{name}\t{url}")


@command(remote_app, "remove")
def remote_remove(name: str = typer.Argument(..., metavar="NAME", help="The remote to forget.")) -> None:
    """Forget a remote (nothing on it is touched).

    Example: mreg remote remove origin
    """
    session.registry().remote_remove(name)
    output.line(f"removed remote {name}")


@command(app)
def push(
    refs: List[str] = typer.Argument(None, metavar="[MODEL[@VERSION]]...", help="What to push (default: everything)."),
    remote: Optional[str] = REMOTE,
    dry_run: bool = DRY_RUN,
    as_json: bool = JSON,
) -> None:
    """Copy versions and events to a remote: blobs, then manifests, then events; fast-forward only.

    Diverged histories or a version that differs on the remote are refused (exit 4), nothing changed.
    Example: mreg push MDL-REC --remote origin
    """
    _render(session.registry().push(refs or [], remote, dry_run, _bar("pushing")), "pushed", as_json)


@command(app)
def fetch(
    models: List[str] = typer.Argument(None, metavar="[MODEL]...", help="Which models (default: all)."),
    remote: Optional[str] = REMOTE,
    dry_run: bool = DRY_RUN,
    as_json: bool = JSON,
) -> None:
    """Bring a remote's new versions and events here; fast-forward only; blobs come later with pull.

    Example: mreg fetch --remote origin
    """
    _render(session.registry().fetch(models or [], remote, dry_run), "fetched", as_json)


@command(app)
def clone(
    url: str = typer.Argument(..., metavar="PATH_OR_URL", help="The registry to copy."),
    directory: str = typer.Argument(..., metavar="DIR", help="Where the new registry goes (it becomes its origin)."),
    as_json: bool = JSON,
) -> None:
    """A new registry with the remote's manifests and events; blobs come on demand (mreg pull).

    Example: mreg clone s3://ml-registry/prod ./prod
    """
    from mreg.registry import Registry

    _render(Registry.clone(url, directory), "cloned", as_json)


@command(bundle_app, "create")
def bundle_create(
    target: Path = typer.Argument(..., metavar="PATH", help="The bundle file to write."),
    refs: List[str] = typer.Argument(..., metavar="MODEL[@VERSION]...", help="Models or versions to carry."),
) -> None:
    """Write one deterministic file with the models' manifests, event chains and blobs.

    Example: mreg bundle create rec.mreg MDL-REC
    """
    toc = session.registry().bundle_create(target, refs)
    files = toc["files"]
    output.line(f"wrote {target}: {len(toc['models'])} models, {len(files)} files, "
                f"{sum(entry['size'] for entry in files.values())} bytes")


@command(bundle_app, "apply")
def bundle_apply(
    path: Path = typer.Argument(..., metavar="PATH", help="The bundle file."),
    dry_run: bool = DRY_RUN,
    as_json: bool = JSON,
) -> None:
    """Verify a bundle completely, then apply it: fast-forward only, conflicts refused (exit 4).

    Example: mreg bundle apply rec.mreg
    """
    _render(session.registry().bundle_apply(path, dry_run, _bar("applying")), "applied", as_json)
