"""Rendering for the terminal: rich tables on a TTY, plain aligned text when piped or
``NO_COLOR`` is set, canonical JSON for ``--json``. Progress goes to stderr.

Consoles are made per call so tests that swap ``sys.stdout`` see exactly what a user sees.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from mreg.codec import dump_json
from mreg.errors import UsageError

Cell = Any


def _stream_is_tty(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def is_rich() -> bool:
    return _stream_is_tty(sys.stdout) and "NO_COLOR" not in os.environ


def _console(stream=None):
    from rich.console import Console

    return Console(file=stream or sys.stdout, highlight=False, soft_wrap=False)


def cell_text(value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def state_title(state: str | None) -> str | None:
    """``production`` as the seed's tables write it: ``Production``."""
    return state.capitalize() if state else None


class _Discard:
    """Standard output under ``--quiet``: accepts everything, keeps nothing. It holds the
    stream it replaces, which would otherwise be collected, and closed, under the caller."""

    def __init__(self, replaced) -> None:
        self.replaced = replaced

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def silence() -> None:
    """``--quiet``: errors only (they go to stderr, which stays)."""
    sys.stdout = _Discard(sys.stdout)


def emit_json(data: Any) -> None:
    sys.stdout.write(dump_json(data))


def line(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def write(text: str) -> None:
    """Text that is already formatted (Markdown, Mermaid, DOT), exactly as given."""
    sys.stdout.write(text)


def write_file(path: Path, text: str) -> None:
    """``-o PATH``: the command's document written to a file."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def heading(text: str) -> None:
    if is_rich():
        from rich.markup import escape

        _console().print(f"[bold]{escape(text)}[/bold]")
    else:
        line(text)


def table(columns: Sequence[str], rows: Sequence[Sequence[Cell]], title: str | None = None) -> None:
    """One table: rich on a terminal, else columns aligned with two spaces, no colour."""
    texts = [[cell_text(value) for value in row] for row in rows]
    if is_rich():
        from rich.table import Table
        from rich.text import Text

        view = Table(title=title, title_justify="left", show_lines=False)
        for column in columns:
            view.add_column(column, overflow="fold")
        for row in texts:
            view.add_row(*(Text(text) for text in row))
        _console().print(view)
        return
    if title:
        line(title)
    widths = [max([len(column), *(len(row[i]) for row in texts)]) for i, column in enumerate(columns)]
    for row in [list(columns), *texts]:
        line("  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip())


def fields(pairs: Sequence[tuple[str, Cell]]) -> None:
    """Key: value lines, skipping empty values."""
    shown = [(key, cell_text(value)) for key, value in pairs if value not in (None, "", [], {})]
    if not shown:
        return
    width = max(len(key) for key, _ in shown)
    for key, value in shown:
        line(f"{(key + ':').ljust(width + 1)} {value}")


def error(message: str) -> None:
    """The single stderr line of the error funnel."""
    if _stream_is_tty(sys.stderr) and "NO_COLOR" not in os.environ:
        from rich.markup import escape

        _console(sys.stderr).print(f"[red]error:[/red] {escape(message)}")
    else:
        sys.stderr.write(f"error: {message}\n")


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator:
    """A byte-count callback; draws a bar on a terminal's stderr once a transfer passes ~1 s.

    ``advance.expect(total)`` sets the total later: the library sizes what it stores while
    it checks it, so the CLI need not walk a directory of its own to draw the bar."""
    started = time.monotonic()
    state: dict[str, Any] = {"done": 0, "bar": None, "task": None, "total": total}
    enabled = _stream_is_tty(sys.stderr) and not isinstance(sys.stdout, _Discard)  # --quiet: no bar

    def advance(count: int) -> None:
        state["done"] += count
        if not enabled:
            return
        if state["bar"] is None and time.monotonic() - started > 1.0:
            from rich.progress import Progress, DownloadColumn, TransferSpeedColumn, BarColumn, TextColumn

            bar = Progress(TextColumn(description), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                           console=_console(sys.stderr), transient=True)
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(description, total=state["total"], completed=state["done"])
        if state["bar"] is not None:
            state["bar"].update(state["task"], completed=state["done"])

    def expect(count: int | None) -> None:
        state["total"] = count
        if state["bar"] is not None:
            state["bar"].update(state["task"], total=count)

    advance.expect = expect  # type: ignore[attr-defined]
    try:
        yield advance
    finally:
        if state["bar"] is not None:
            state["bar"].stop()
