"""Shared fixtures: a fresh registry per test, the CLI through CliRunner and a subprocess,
and a byte-level snapshot of a registry for "a refused command changes nothing"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mreg
from mreg.cli import app

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "registry-example"
DATA = REPO / "tests" / "data"


def data_file(relative: str, env: str) -> Path:
    """A fact the suite carries in tests/data/ (the seed, the Kayenta vectors), or ``$env``."""
    return Path(os.environ.get(env) or DATA / relative)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test sees the developer's registry, actor, clock or digest cache."""
    for name in ("MREG_REGISTRY", "SOURCE_DATE_EPOCH", "MREG_TRACEBACK", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MREG_ACTOR", "tester")
    monkeypatch.setenv("MREG_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.chdir(tmp_path)


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


class Cli:
    """Runs ``mreg`` against one registry, in process (CliRunner) or as a real subprocess."""

    def __init__(self, registry_url: str) -> None:
        self.registry_url = registry_url

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Outcome:
        result = CliRunner().invoke(app, ["--registry", self.registry_url, *args], env=env, catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, env: dict[str, str] | None = None) -> str:
        outcome = self(*args, env=env)
        assert outcome.exit_code == 0, f"mreg {' '.join(args)} -> {outcome.exit_code}: {outcome.stderr}"
        return outcome.stdout

    def judged(self, ref: str, env: dict[str, str] | None = None) -> str:
        """A passing judge report for ``ref``, made by ``mreg judge -o`` (at the same instant
        as the command it is for: give the same ``env``), for ``promote --evidence``."""
        samples = write_samples(mreg.open(self.registry_url), ref, Path.cwd())
        out = Path.cwd() / f"judge-{ref.replace('@', '-')}.json"
        self.ok("judge", ref, "--canary", str(samples), "--baseline", str(samples), "-o", str(out), env=env)
        return str(out)

    def bytes_read(self, *args: str) -> int:
        """Run mreg as a subprocess and return how many bytes it read (/proc/self/io rchar)."""
        probe = (
            "import atexit, runpy, sys\n"
            "atexit.register(lambda: sys.stderr.write([l for l in open('/proc/self/io') if l.startswith('rchar')][0]))\n"
            "sys.argv = ['mreg'] + sys.argv[1:]\n"
            "runpy.run_module('mreg', run_name='__main__')\n"
        )
        done = subprocess.run([sys.executable, "-c", probe, "--registry", self.registry_url, *args],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return int(done.stderr.split("rchar:")[1].split()[0])

    def subprocess(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Outcome:
        full_env = {**os.environ, **(env or {})}
        done = subprocess.run(
            [sys.executable, "-m", "mreg", "--registry", self.registry_url, *args],
            capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120,
        )
        return Outcome(done.returncode, done.stdout, done.stderr)


BACKENDS = ("local", "s3")


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "local_only: runs on the local backend only (git, file modes, editing files by path)"
    )


def pytest_generate_tests(metafunc) -> None:
    """Every test that uses a registry runs on each backend, unless marked ``local_only``."""
    if "backend" in metafunc.fixturenames:
        local = metafunc.definition.get_closest_marker("local_only") is not None
        metafunc.parametrize("backend", ["local"] if local else list(BACKENDS), indirect=True)


@pytest.fixture
def backend(request) -> str:
    return getattr(request, "param", "local")


@pytest.fixture(scope="session")
def s3_server():
    """One SeaweedFS for the whole session (about a second to start); tests use own prefixes."""
    from s3server import S3Server

    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def s3_url(s3_server, monkeypatch) -> str:
    """A fresh, empty ``s3://`` location, and the AWS environment (also for subprocesses)."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return f"s3://{s3_server.bucket}/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def registry_url(request, backend, tmp_path) -> str:
    """A freshly initialised, empty registry on the test's backend."""
    if backend == "s3":
        url = f"{request.getfixturevalue('s3_url')}/registry"
    else:
        url = str(tmp_path / "registry")
    mreg.init(url)
    return url


@pytest.fixture
def registry(registry_url):
    return mreg.open(registry_url)


@pytest.fixture
def cli(registry_url) -> Cli:
    return Cli(registry_url)


def _s3_url(location: Path | str) -> str | None:
    """``location`` as an ``s3://`` URL, also when a test wrapped it in ``Path`` (``s3:/b/k``)."""
    text = str(location)
    return "s3://" + text.removeprefix("s3:").lstrip("/") if text.startswith("s3:/") else None


def stored_bytes(registry_url: Path | str, path: str) -> bytes:
    """One file of a registry on either backend, by its path inside the registry."""
    url = _s3_url(registry_url)
    if url is None:
        return (Path(registry_url) / path).read_bytes()
    from mreg.store import open_storage

    return open_storage(url).read(path)


def snapshot(root: Path | str) -> dict[str, bytes]:
    """Every file under a registry, by relative path (the derived .cache excluded)."""
    url = _s3_url(root)
    if url is not None:
        from mreg.store import open_storage

        storage = open_storage(url)
        return {path: storage.read(path) for path in storage.listing("") if not path.startswith(".cache/")}
    root = Path(root)
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".cache" not in path.relative_to(root).parts
    }


def add_model(cli: Cli, model: str = "M1", *extra: str) -> None:
    cli.ok("model", "add", model, "--name", f"Model {model}", *extra)


def write_samples(registry, ref: str, directory: Path) -> Path:
    """Samples that pass the judge: the same values on both sides for every metric the
    model's baselines and the version name (a critical metric without data would fail)."""
    model = ref.partition("@")[0]
    names = {b.metric for b in registry.model_spec(model).baselines} | set(registry.manifest(ref).metrics) | {"availability"}
    samples = {"metrics": {name: [1.0, 2.0, 3.0, 4.0] for name in sorted(names)}}
    return write(directory / f"samples-{ref.replace('@', '-')}.json", json.dumps(samples))


def judge_report(registry, ref: str, directory: Path) -> Path:
    """What ``Cli.judged`` makes, through the library: a passing, bound judge report file."""
    samples = json.loads(write_samples(registry, ref, directory).read_text())["metrics"]
    return write(directory / f"judge-{ref.replace('@', '-')}.json", registry.judge(ref, samples, samples).evidence.to_json())


def resealed(raw: bytes) -> bytes:
    """A hand-edited sealed document given a seal that holds again, as an editor who knows
    the format would (tests use it to reach the checks behind the seal)."""
    from mreg.codec import digest_bytes

    lines = raw.removesuffix(b"\n").split(b"\n")
    body = b"\n".join(line for line in lines if not line.startswith(b"seal: ")) + b"\n"
    return body + f"seal: {digest_bytes(body)}\n".encode()


def settle_folders(root: Path) -> None:
    """Move the mtime of every folder under ``models/`` well into the past, as if the registry
    had not changed for a while: kept rows may then be keyed by folder identities."""
    from mreg.repository import SETTLED_SECONDS

    past = time.time() - 10 * SETTLED_SECONDS
    for folder in [root / "models", *(path for path in (root / "models").rglob("*") if path.is_dir())]:
        os.utime(folder, (past, past))


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# Real parsers for what mreg draws: Mermaid's own (Node.js, tests/tools/) and Graphviz dot.
# Without them these tests skip on a developer machine and fail in CI (CI set).
TOOLS = Path(__file__).resolve().parent / "tools"


def _require(program: str, package: str) -> str:
    found = shutil.which(program)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{program} is required in CI (install {package})")
        pytest.skip(f"{program} is not installed ({package})")
    return found


@pytest.fixture(scope="session")
def mermaid_parse():
    """Parse text with mermaid@11 under jsdom; installs tests/tools/node_modules once."""
    node = _require("node", "Node.js")
    if not (TOOLS / "node_modules" / "mermaid").is_dir():
        npm = _require("npm", "npm")
        subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=TOOLS, check=True,
                       capture_output=True, timeout=900)

    def parse(text: str) -> subprocess.CompletedProcess:
        return subprocess.run([node, str(TOOLS / "parse-mermaid.mjs")], input=text, capture_output=True,
                              text=True, timeout=120)

    return parse


@pytest.fixture(scope="session")
def dot_svg():
    dot = _require("dot", "Debian package graphviz")

    def render(text: str) -> subprocess.CompletedProcess:
        return subprocess.run([dot, "-Tsvg"], input=text, capture_output=True, text=True, timeout=120)

    return render
