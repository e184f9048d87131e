"""The Typer application every command module registers on, and the global options."""

from __future__ import annotations

from typing import Optional

import typer
from typer.core import TyperArgument

from mreg.cli import output, session

# Typer prints an argument's Python type after its metavariable ("MODEL@VERSION <str>");
# help names values (MODEL@VERSION, PATH), never types, so a metavariable stands alone,
# as it already does for options.
TyperArgument.display_type_rich = lambda self, ctx: None if self.metavar else TyperArgument.display_type(self, ctx)

app = typer.Typer(
    name="mreg",
    help=(
        "A model registry in plain files: versions with content-addressed artifacts, a "
        "hash-chained lifecycle, lineage and baseline gates, on a directory or S3.\n\n"
        "Name a version as MODEL@VERSION. Exit codes: 0 ok, 1 unexpected, 2 usage or invalid "
        "input, 3 not found, 4 conflict, 5 integrity failure, 6 check failed, 7 store unavailable, 8 optional "
        "dependency missing."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(asked: bool) -> None:
    if asked:
        from mreg import __version__

        output.line(f"mreg {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    registry: Optional[str] = typer.Option(
        None, "--registry", "-r", envvar="MREG_REGISTRY", metavar="PATH_OR_URL",
        help="Registry to use: a directory, file:// or s3:// URL. Default: $MREG_REGISTRY, "
        "else the nearest mreg.yaml above the current directory.",
    ),
    traceback: bool = typer.Option(
        False, "--traceback", help="Show the full stack on errors (or set MREG_TRACEBACK=1)."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Print nothing but errors; the exit code tells the rest."
    ),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print mreg's version and exit."
    ),
) -> None:
    session.reset(registry, traceback)
    if quiet:
        output.silence()
