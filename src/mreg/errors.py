"""The MregError tree and the one exit-code enum.

Every failure a user can cause is an ``MregError`` subclass named for its condition; it
carries the fields that describe it and the exit code the CLI reports. The library raises,
never prints or exits; the CLI's single funnel turns an error into one line on stderr.
"""

from __future__ import annotations

import errno
from contextlib import contextmanager
from enum import IntEnum
from typing import Iterator


class ExitCode(IntEnum):
    """Process exit codes, documented in README.md ("Exit codes")."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2  # bad arguments or invalid input (also Typer's own usage errors)
    NOT_FOUND = 3
    CONFLICT = 4
    INTEGRITY = 5
    CHECK_FAILED = 6
    UNAVAILABLE = 7  # a store or URL could not be reached
    MISSING_EXTRA = 8  # an optional dependency the command needs is not installed


class MregError(Exception):
    """Base of every error mreg reports to a user."""

    exit_code = ExitCode.UNEXPECTED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(MregError):
    """Input that can never succeed as given: a bad name, flag combination or file."""

    exit_code = ExitCode.USAGE


class InvalidName(UsageError):
    def __init__(self, kind: str, value: str, why: str) -> None:
        super().__init__(f"invalid {kind} {value!r}: {why}")
        self.kind, self.value = kind, value


class InvalidQuery(UsageError):
    """A ``find`` filter or ordering that does not parse; ``column`` counts from 1."""

    def __init__(self, query: str, column: int, problem: str) -> None:
        rest = query[column - 1:]
        here = f"; here: {rest[:24]}{'...' if len(rest) > 24 else ''}" if rest.strip() else " (at the end)"
        super().__init__(f"invalid query at column {column}: {problem}{here}")
        self.query, self.column, self.problem = query, column, problem


class InvalidManifest(UsageError):
    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source


class InvalidTransition(UsageError):
    def __init__(self, model: str, version: str, current: str, target: str, allowed: list[str]) -> None:
        options = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"{model}@{version} is {current}; cannot move to {target} (allowed next: {options})"
        )
        self.model, self.version, self.current, self.target, self.allowed = (
            model, version, current, target, allowed,
        )


class NotFound(MregError):
    exit_code = ExitCode.NOT_FOUND


class RegistryNotFound(NotFound):
    def __init__(self, where: str) -> None:
        super().__init__(
            f"no registry at {where} (run 'mreg init', pass --registry, or set MREG_REGISTRY)"
        )
        self.where = where


class ModelNotFound(NotFound):
    """``suggestion``: the existing model the user most likely meant (names.closest)."""

    def __init__(self, model: str, suggestion: str | None = None) -> None:
        hint = f"; did you mean {suggestion}?" if suggestion else ""
        super().__init__(f"model {model} not found{hint} (see 'mreg models')")
        self.model, self.suggestion = model, suggestion


class VersionNotFound(NotFound):
    def __init__(self, model: str, version: str, suggestion: str | None = None) -> None:
        hint = f"; did you mean {model}@{suggestion}?" if suggestion else ""
        super().__init__(f"version {model}@{version} not found{hint} (see 'mreg show {model}')")
        self.model, self.version, self.suggestion = model, version, suggestion


class NodeNotFound(NotFound):
    def __init__(self, node: str) -> None:
        super().__init__(
            f"no lineage node {node!r} (try MODEL, MODEL@VERSION, dataset:NAME, service:NAME or sha256:DIGEST)"
        )
        self.node = node


class PathNotFound(NotFound):
    def __init__(self, path: str) -> None:
        super().__init__(f"no such file or directory: {path}")
        self.path = path


class RunNotFound(NotFound):
    """The tracking system has no such flow, run, step, task or artifact."""

    def __init__(self, pathspec: str, what: str) -> None:
        super().__init__(f"{pathspec}: {what}")
        self.pathspec, self.what = pathspec, what


class RunNotUsable(UsageError):
    """The run exists but cannot back a version: it failed, is still running, or is ambiguous."""

    def __init__(self, pathspec: str, why: str) -> None:
        super().__init__(f"{pathspec}: {why}")
        self.pathspec, self.why = pathspec, why


class Conflict(MregError):
    exit_code = ExitCode.CONFLICT


class AlreadyExists(Conflict):
    """A create-exclusive write found its name taken."""

    def __init__(self, what: str, hint: str = "") -> None:
        super().__init__(f"{what} already exists{'; ' + hint if hint else ''}")
        self.what = what


class ConcurrentUpdate(Conflict):
    """Another writer appended an event first and our transition no longer holds."""

    def __init__(self, model: str, detail: str) -> None:
        super().__init__(f"{model} changed while this command ran: {detail}")
        self.model = model


class IntegrityError(MregError):
    exit_code = ExitCode.INTEGRITY


class CorruptObject(IntegrityError):
    def __init__(self, path: str, expected: str, actual: str) -> None:
        super().__init__(f"{path}: content hashes to {actual}, expected {expected}")
        self.path, self.expected, self.actual = path, expected, actual


class CheckFailed(MregError):
    """A gate, check or verification found what the user asked it to find."""

    exit_code = ExitCode.CHECK_FAILED


class MissingDependency(MregError):
    """A command needs an optional package that is not installed: the environment's
    fault, not mreg's, so not exit 1; the one line names what to install."""

    exit_code = ExitCode.MISSING_EXTRA

    def __init__(self, package: str, extra: str | None) -> None:
        install = f"pip install 'mreg[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"this command needs {package}, which is not installed: {install}")
        self.package, self.extra = package, extra


class StoreUnavailable(MregError):
    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"cannot reach {url}: {why}")
        self.url = url


# What the operating system said, as our exit codes (README.md, "Exit codes"): the command
# could never work as given (2), the named thing is missing (3) or taken (4), or the
# environment refused for now, a full disk or a permission (7). Anything else is 7 too.
_OS_EXIT_CODES = {
    errno.ENAMETOOLONG: ExitCode.USAGE, errno.ENOTDIR: ExitCode.USAGE, errno.EISDIR: ExitCode.USAGE,
    errno.ELOOP: ExitCode.USAGE, errno.EINVAL: ExitCode.USAGE, errno.EXDEV: ExitCode.USAGE,
    errno.ENOENT: ExitCode.NOT_FOUND,
    errno.EEXIST: ExitCode.CONFLICT, errno.ENOTEMPTY: ExitCode.CONFLICT,
}


class SystemRefused(MregError):
    """The operating system (or the network under it) refused a read or a write."""

    def __init__(self, error: OSError, action: str, path: str | None = None) -> None:
        why = (error.strerror or str(error) or type(error).__name__).lower()
        where = path if path is not None else error.filename
        super().__init__(f"{why} while {action}{f' {where}' if where is not None else ''}")
        self.errno, self.action, self.path = error.errno, action, where
        self.exit_code = _OS_EXIT_CODES.get(error.errno, ExitCode.UNAVAILABLE)


@contextmanager
def os_errors(action: str, path: object = None) -> Iterator[None]:
    """Turn an ``OSError`` raised inside into ``SystemRefused`` (``action`` is a gerund:
    "writing", "reading", "creating")."""
    try:
        yield
    except OSError as error:
        raise SystemRefused(error, action, None if path is None else str(path)) from None
