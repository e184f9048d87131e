"""Per-invocation CLI state and the one error funnel.

Every command is wrapped by ``command``: an ``MregError`` becomes one line on stderr and
its exit code, and so does an ``OSError`` (a full disk, a permission: README's table maps
each errno to a code); anything else is reported as unexpected (exit 1) unless ``--traceback`` or
``MREG_TRACEBACK=1`` asks for the stack. On success the registry's derived cache is
flushed, so a refused command leaves the registry untouched.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import typer

from mreg.cli import output
from mreg.errors import ExitCode, MregError, RegistryNotFound, SystemRefused
from mreg.layout import CONFIG


@dataclass
class Session:
    registry_url: str | None = None
    traceback: bool = False
    opened: object | None = None


current = Session()


def reset(registry_url: str | None, traceback: bool) -> None:
    global current
    current = Session(registry_url, traceback or os.environ.get("MREG_TRACEBACK") == "1")


def find_registry(start: Path) -> str | None:
    """The nearest directory holding ``mreg.yaml``, walking up from ``start`` as git finds .git."""
    for directory in (start, *start.parents):
        if (directory / CONFIG).is_file():
            return str(directory)
    return None


def registry_url() -> str:
    """--registry, then $MREG_REGISTRY (read here too for shell completion, which runs
    before options are parsed), then the nearest mreg.yaml."""
    url = current.registry_url or os.environ.get("MREG_REGISTRY") or find_registry(Path.cwd())
    if url is None:
        raise RegistryNotFound(str(Path.cwd()))
    return url


def registry():
    """Open the selected registry once per invocation."""
    if current.opened is None:
        from mreg.registry import Registry

        current.opened = Registry.open(registry_url())
    return current.opened


def command(app: typer.Typer, name: str | None = None, **settings) -> Callable:
    """Register ``function`` as a command behind the error funnel."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def run(*args, **kwargs):
            try:
                try:
                    result = function(*args, **kwargs)
                except OSError as exc:  # one the library did not name more precisely
                    if isinstance(exc, BrokenPipeError):
                        raise
                    raise SystemRefused(exc, "accessing") from None
            except MregError as exc:
                if current.traceback:
                    raise
                output.error(exc.message)
                raise typer.Exit(int(exc.exit_code)) from None
            except (typer.Exit, typer.Abort, KeyboardInterrupt):
                raise
            except BrokenPipeError:  # the reader stopped early (mreg log | head): not an error
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise typer.Exit(int(ExitCode.OK)) from None
            except Exception as exc:  # the funnel's last resort: say so, keep the code fixed
                if current.traceback:
                    raise
                output.error(f"unexpected {type(exc).__name__}: {exc} (rerun with --traceback)")
                raise typer.Exit(int(ExitCode.UNEXPECTED)) from None
            if current.opened is not None:
                current.opened.flush()
            return result

        app.command(name, **settings)(run)
        return function

    return decorate
