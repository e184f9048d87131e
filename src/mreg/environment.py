"""Environment capture: the interpreter, platform, installed distributions, lock files and git
state a version was trained with, and the pinned requirements file that rebuilds it.

Distributions are read through ``importlib.metadata`` (what the running interpreter would
import, in ``sys.path`` order, first one wins), never by running pip: capture is fast and
sees exactly the environment the training code saw. Lock files are recorded by digest
only, so a reviewer can tell whether two versions were built from the same lock.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

from mreg.manifest import Environment, GitState, LockFile
from mreg.codec import digest_bytes

LOCK_FILE_PATTERNS = ("requirements*.txt", "uv.lock", "poetry.lock", "pylock.toml", "pylock.*.toml",
                      "environment.yml", "environment.yaml", "Pipfile.lock", "conda-lock.yml")


def capture(working_tree: Path | None = None, path: list[str] | None = None) -> Environment:
    """The environment of this interpreter; ``working_tree`` (default: the git top level of
    the current directory, else the directory itself) is searched for lock files and its git
    commit; ``path`` replaces ``sys.path`` when looking for distributions."""
    root = working_tree or _git_top_level(Path.cwd()) or Path.cwd()
    packages, urls = installed_distributions(path)
    return Environment(
        python=platform.python_version(),
        implementation=sys.implementation.name,
        platform=sysconfig.get_platform(),
        source="captured",
        packages=packages,
        urls=urls,
        lock_files=lock_files(root),
        git=git_state(root),
    )


def installed_distributions(path: list[str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """``{name: version}`` of every installed distribution, and ``{name: url}`` of those that
    pip installed from a direct URL or a local directory (PEP 610's ``direct_url.json``)."""
    packages: dict[str, str] = {}
    urls: dict[str, str] = {}
    for dist in metadata.distributions(path=path if path is not None else sys.path):
        name = dist.metadata["Name"]
        if not name or canonicalize_name(name) in packages:
            continue  # broken metadata, or shadowed by an earlier sys.path entry
        name = canonicalize_name(name)
        packages[name] = dist.version
        url = _direct_url(dist)
        if url:
            urls[name] = url
    return packages, urls


def _direct_url(dist: metadata.Distribution) -> str | None:
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        return json.loads(text).get("url")
    except (ValueError, AttributeError):
        return None


def lock_files(root: Path) -> list[LockFile]:
    """Digests of the lock and requirements files at the top of the working tree."""
    found = {path for pattern in LOCK_FILE_PATTERNS for path in root.glob(pattern) if path.is_file()}
    return [LockFile(path=path.name, digest=digest_bytes(path.read_bytes())) for path in sorted(found)]


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None  # no git on this machine: the environment simply has no git state
    return done.stdout if done.returncode == 0 else None


def _git_top_level(directory: Path) -> Path | None:
    top = _git(directory, "rev-parse", "--show-toplevel")
    return Path(top.strip()) if top else None


def git_state(root: Path) -> GitState | None:
    """The commit checked out in ``root`` and whether tracked or untracked files differ from it."""
    commit = _git(root, "rev-parse", "--verify", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=normal")
    if not commit or status is None:
        return None
    return GitState(commit=commit.strip(), dirty=bool(status.strip()))


def requirements(environment: Environment) -> str:
    """A pinned requirements file: ``name==version`` per distribution (``name @ url`` for one
    installed from a direct URL), with the interpreter and platform it was captured on."""
    interpreter = " ".join(filter(None, ["python", environment.python, environment.implementation and f"({environment.implementation})",
                                         environment.platform and f"on {environment.platform}"]))
    header = ["# Pinned by mreg from a recorded environment.", f"# {interpreter}"]
    if environment.git:
        header.append(f"# git {environment.git.commit}{' (dirty)' if environment.git.dirty else ''}")
    lines = [
        f"{name} @ {environment.urls[name]}" if name in environment.urls else f"{name}=={version}"
        for name, version in environment.packages.items()
    ]
    return "\n".join(header + lines) + "\n"
