"""The hostile corpus: inputs an attacker or an accident could hand mreg, generated as a table.

Each case is a command line, the input files it names (written under ``{in}``), optionally a
change to a private copy of the base registry (``craft``), and the exit code mreg must give.
tests/test_hostile.py runs every case in process; bench/bench_hostile.py times them as real
subprocesses. The base registry (``build_base``) holds model M with M@v1 in Canary (a file
and a tree artifact), so gates, judge and evidence can be reached.
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

USAGE, NOT_FOUND, CONFLICT, INTEGRITY = 2, 3, 4, 5


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    code: int
    inputs: dict[str, Callable[[], bytes]] = field(default_factory=dict)
    craft: Callable[[Path, Path], None] | None = None  # (registry copy, scratch dir)
    xfail: str | None = None


# -- the base registry -------------------------------------------------------------------------

def build_base(root: Path, work: Path) -> None:
    """M@v1 in Canary with a file and a tree artifact, through the library."""
    import mreg
    from mreg.lifecycle import State
    from mreg.manifest import ModelSpec

    registry = mreg.init(str(root))
    registry.add_model(ModelSpec(id="M", name="Model M"))
    (work / "model").mkdir(parents=True)
    (work / "model" / "a.txt").write_text("a\n")
    (work / "model" / "b.txt").write_text("b\n")
    (work / "weights.bin").write_bytes(b"w" * 64)
    registry.register("M@v1", artifact_sources=[str(work / "weights.bin"), str(work / "model")],
                      metrics={"accuracy": 0.9})
    for state in (State.EXPERIMENTATION, State.CANDIDATE, State.CANARY):
        registry.promote("M@v1", state)


# -- documents ---------------------------------------------------------------------------------

def _bomb() -> bytes:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        this, prev = chr(97 + i), chr(96 + i)
        lines.append(f"{this}: &{this} [" + ",".join([f"*{prev}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def _deep_block(levels: int) -> bytes:
    return "".join(" " * depth + "a:\n" for depth in range(levels)).encode() + b" " * levels + b"1\n"


HOSTILE_DOCUMENTS: dict[str, Callable[[], bytes]] = {
    "deep-flow-100k": lambda: b"[" * 100_000 + b"]" * 100_000,
    "deep-json-100k": lambda: b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "deep-block-200": lambda: _deep_block(200),
    "deep-compact-seq": lambda: b"- " * 5000 + b"x\n",
    "alias-bomb": _bomb,
    "alias-undefined": lambda: b"a: *nowhere\n",
    "merge-bomb": lambda: _bomb() + b"j:\n  <<: *i\n",
    "huge-2mb": lambda: b"notes: '" + b"x" * (2 << 20) + b"'\n",
    "comments-50mb": lambda: b"# " + b"c" * 78 + b"\n" * 1 + (b"# " + b"c" * 77 + b"\n") * 640_000,
    "json-20mb": lambda: b'{"notes": "' + b"x" * (20 << 20) + b'"}',
    "invalid-utf8": lambda: b"model: \xff\xfe\xfd\n",
    "binary": lambda: random.Random(0).randbytes(4096),
    "int-5000-digits": lambda: b"a: " + b"9" * 5000 + b"\n",
    "duplicate-keys": lambda: b"a: 1\na: 2\n",
    "duplicate-keys-json": lambda: b'{"a": 1, "a": 2}',
    "top-level-list": lambda: b"- 1\n- 2\n",
    "top-level-scalar": lambda: b"hello\n",
    "empty": lambda: b"",
    "python-tag": lambda: b"!!python/object/apply:os.system ['touch /tmp/pwned']\n",
    "unknown-tag": lambda: b"a: !custom bar\n",
    "nul-byte": lambda: b"a: b\x00c\n",
    "tab-indent": lambda: b"a:\n\tb: 1\n",
    "unclosed-flow": lambda: b"{a: [1, 2\n",
}

# Commands that read a document, with "{doc}" where it goes. Wrong schema or over a limit: 2.
DOCUMENT_COMMANDS: dict[str, tuple[str, ...]] = {
    "register-f": ("register", "M@v9", "-f", "{doc}"),
    "model-update": ("model", "update", "M", "-f", "{doc}"),
    "model-add": ("model", "add", "N", "--from-file", "{doc}"),
    "judge-canary": ("judge", "M@v1", "--canary", "{doc}", "--baseline", "{in}/samples.yaml"),
    "judge-baseline": ("judge", "M@v1", "--canary", "{in}/samples.yaml", "--baseline", "{doc}"),
    "check-metrics": ("check", "M@v1", "--metrics", "{doc}"),
    "monitor-metrics": ("monitor", "M", "--metrics", "{doc}"),
    "promote-evidence": ("promote", "M@v1", "--to", "production", "--evidence", "{doc}"),
}

SAMPLES = b"metrics:\n  accuracy: [0.9, 0.91, 0.89, 0.9, 0.92]\n"


def document_cases() -> list[Case]:
    cases = []
    for doc_name, make in HOSTILE_DOCUMENTS.items():
        for command, argv in DOCUMENT_COMMANDS.items():
            filled = tuple(part.replace("{doc}", f"{{in}}/{doc_name}") for part in argv)
            cases.append(Case(f"doc-{command}-{doc_name}", filled, USAGE,
                              {doc_name: make, "samples.yaml": lambda: SAMPLES}))
    for command, argv in DOCUMENT_COMMANDS.items():
        for special, code in (("/dev/zero", USAGE), ("{in}", USAGE), ("{in}/missing.yaml", NOT_FOUND)):
            filled = tuple(part.replace("{doc}", special) for part in argv)
            label = {"/dev/zero": "dev-zero", "{in}": "directory", "{in}/missing.yaml": "missing"}[special]
            cases.append(Case(f"doc-{command}-{label}", filled, code,
                              {"samples.yaml": lambda: SAMPLES}))
    return cases


# -- names -------------------------------------------------------------------------------------

BAD_NAMES = {
    "empty": "", "dotdot": "..", "climb": "../etc", "slash": "a/b", "absolute": "/abs",
    "inner-dotdot": "a..b", "too-long": "x" * 129, "space": "a b", "tab": "a\tb", "non-ascii": "mödel",
    "newline": "a\nb", "hidden": ".hidden", "dash": "-rf", "percent": "a%2fb",
}


def name_cases() -> list[Case]:
    cases = []
    for label, name in BAD_NAMES.items():
        commands = {
            "show-version": ("show", f"M@{name}"),
            "register-version": ("register", f"M@{name}"),
            "pull": ("pull", f"M@{name}", "-o", "{in}/out"),
            "promote": ("promote", f"M@{name}", "--to", "experimentation"),
        }
        if not name.startswith("-"):  # a leading dash is an option to any command line parser
            commands.update({
                "show-model": ("show", name), "register-model": ("register", f"{name}@v1"),
                "status": ("status", f"{name}@v1"), "model-add": ("model", "add", name, "--name", "n"),
            })
        for command, argv in commands.items():
            cases.append(Case(f"name-{command}-{label}", argv, USAGE))
    return cases


# -- artifact records in a manifest file -------------------------------------------------------

FILE_DIGEST = "sha256:" + "0" * 64  # replaced by the base registry's weights.bin digest at run time


def _artifacts_doc(*records: str) -> Callable[[], bytes]:
    return lambda: ("artifacts:\n" + "".join(records)).encode()


def _record(path: str, kind: str = "file", digest: str = "{weights}", size: str = "64", extra: str = "") -> str:
    return f"- {{path: {path}, kind: {kind}, digest: '{digest}', size: {size}{extra}}}\n"


ARTIFACT_RECORDS = {
    "climb": _record("'../../evil.txt'"),
    "absolute": _record("/etc/passwd"),
    "empty-path": _record("''"),
    "dot": _record("'.'"),
    "dot-segment": _record("a/./b"),
    "double-slash": _record("a//b"),
    "trailing-slash": _record("'a/'"),
    "dotdot": _record("'..'"),
    "inner-climb": _record("a/../../b"),
    "backslash": _record("'a\\\\..\\\\b'"),
    "control-char": _record('"a\\x01b"'),
    "windows-drive": _record("'C:/x'"),
    "long-segment": _record("x" * 300),
    "bad-digest": _record("w.bin", digest="sha256:xyz"),
    "md5-digest": _record("w.bin", digest="md5:" + "0" * 32),
    "negative-size": _record("w.bin", size="-1"),
    "unknown-kind": _record("w.bin", kind="socket"),
    "external-no-url": _record("w.bin", kind="external"),
    "url-on-file": _record("w.bin", extra=", url: 'https://x/y'"),
    "files-on-file": _record("w.bin", extra=", files: 3"),
}
ARTIFACT_PAIRS = {
    "duplicate": (_record("w.bin"), _record("w.bin")),
    "file-and-dir": (_record("a"), _record("a/b")),
}
# Records whose blob is absent, of the wrong kind or size: register checks each record against the blob store.
STORE_CHECKED_RECORDS = {
    "absent-blob": _record("w.bin", digest="sha256:" + "ab" * 32),
    "tree-is-a-file": _record("w", kind="tree", extra=", files: 1"),
    "wrong-size": _record("w.bin", size="65"),
}


def artifact_cases() -> list[Case]:
    cases = []
    for label, record in ARTIFACT_RECORDS.items():
        cases.append(Case(f"artifact-{label}", ("register", "M@v9", "-f", "{in}/m.yaml"), USAGE,
                          {"m.yaml": _artifacts_doc(record)}))
    for label, records in ARTIFACT_PAIRS.items():
        cases.append(Case(f"artifact-{label}", ("register", "M@v9", "-f", "{in}/m.yaml"), USAGE,
                          {"m.yaml": _artifacts_doc(*records)}))
    for label, record in STORE_CHECKED_RECORDS.items():
        cases.append(Case(f"artifact-{label}", ("register", "M@v9", "-f", "{in}/m.yaml"), USAGE,
                          {"m.yaml": _artifacts_doc(record)}))
    return cases


# -- pull targets ------------------------------------------------------------------------------

def _link_in_output(target: str, name: str) -> Callable[[Path, Path], None]:
    def craft(registry: Path, scratch: Path) -> None:
        out = scratch / "out"
        out.mkdir(parents=True, exist_ok=True)
        (scratch / "outside").mkdir(exist_ok=True)
        os.symlink(scratch / "outside" / target, out / name)
    return craft


def pull_cases() -> list[Case]:
    return [
        Case("pull-o-file", ("pull", "M@v1", "-o", "{in}/f.txt"), USAGE, {"f.txt": lambda: b"x"}),
        Case("pull-o-dev-null", ("pull", "M@v1", "-o", "/dev/null"), USAGE),
        Case("pull-o-under-file", ("pull", "M@v1", "-o", "{in}/f.txt/sub"), USAGE, {"f.txt": lambda: b"x"}),
        Case("pull-o-name-too-long", ("pull", "M@v1", "-o", "{in}/" + "x" * 300), USAGE),
        Case("pull-through-file-link", ("pull", "M@v1", "-o", "{scratch}/out"), CONFLICT,
             craft=_link_in_output("weights.bin", "weights.bin")),
        Case("pull-through-dir-link", ("pull", "M@v1", "-o", "{scratch}/out"), CONFLICT,
             craft=_link_in_output("", "model")),
        Case("pull-different-file-there", ("pull", "M@v1", "-o", "{scratch}/out"), CONFLICT,
             craft=lambda registry, scratch: _write(scratch / "out" / "weights.bin", b"other")),
    ]


# -- hand-crafted registries -------------------------------------------------------------------

def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _symlink_out(relative: str) -> Callable[[Path, Path], None]:
    """Move a registry directory or file out of it and leave a link in its place."""
    def craft(registry: Path, scratch: Path) -> None:
        source = registry / relative
        outside = scratch / "elsewhere" / relative.replace("/", "_")
        outside.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, outside)
        os.symlink(outside, source)
    return craft


def _replace_file(relative: str, make: Callable[[], bytes]) -> Callable[[Path, Path], None]:
    return lambda registry, scratch: _write(registry / relative, make())


def _tree_digest(registry: Path) -> str:
    text = (registry / "models/M/versions/v1.yaml").read_text()
    return text.split("path: model\n  kind: tree\n  digest: ")[1].split("\n")[0]


def _bad_listing(entries: str) -> Callable[[Path, Path], None]:
    """Point M@v1's tree artifact at a crafted listing blob, the manifest resealed."""
    def craft(registry: Path, scratch: Path) -> None:
        import hashlib

        from mreg.manifest import VersionManifest

        listing = ('{"entries":' + entries + ',"format":"mreg-tree-1"}').encode()
        digest = "sha256:" + hashlib.sha256(listing).hexdigest()
        _write(registry / "objects/sha256" / digest[7:9] / digest[9:], listing)
        path = registry / "models/M/versions/v1.yaml"
        manifest = VersionManifest.from_yaml(path.read_bytes(), str(path))
        artifacts = [a.model_copy(update={"digest": digest}) if a.kind == "tree" else a for a in manifest.artifacts]
        path.write_bytes(manifest.model_copy(update={"artifacts": artifacts, "seal": None}).sealed().to_yaml())
    return craft


def _entry(path: str, digest: str = "sha256:" + "1" * 64, size: int = 1) -> str:
    return '{"digest":"%s","path":"%s","size":%d}' % (digest, path, size)


BAD_LISTINGS = {
    "absolute": "[" + _entry("/etc/x") + "]",
    "climb": "[" + _entry("../../../x") + "]",
    "empty-entry": "[" + _entry("") + "]",
    "dot-entry": "[" + _entry(".") + "]",
    "dot-segment": "[" + _entry("a/./b") + "]",
    "duplicate": "[" + _entry("a") + "," + _entry("a") + "]",
    "file-and-dir": "[" + _entry("a") + "," + _entry("a/b") + "]",
    "bad-digest": "[" + _entry("a", digest="sha256:zz") + "]",
    "negative-size": "[" + _entry("a", size=-1) + "]",
    "not-a-list": '{"a": 1}',
    "deep": "[" * 5000 + "]" * 5000,
}

STORED_DOCUMENTS = {
    "manifest-deep": ("models/M/versions/v1.yaml", HOSTILE_DOCUMENTS["deep-flow-100k"]),
    "manifest-bomb": ("models/M/versions/v1.yaml", _bomb),
    "manifest-huge": ("models/M/versions/v1.yaml", HOSTILE_DOCUMENTS["huge-2mb"]),
    "manifest-garbage": ("models/M/versions/v1.yaml", HOSTILE_DOCUMENTS["binary"]),
    "model-deep": ("models/M/model.yaml", HOSTILE_DOCUMENTS["deep-flow-100k"]),
    "model-bomb": ("models/M/model.yaml", _bomb),
    "event-deep": ("models/M/events/00000001.yaml", HOSTILE_DOCUMENTS["deep-flow-100k"]),
    "event-bomb": ("models/M/events/00000001.yaml", _bomb),
    "config-deep": ("mreg.yaml", HOSTILE_DOCUMENTS["deep-flow-100k"]),
    "config-bomb": ("mreg.yaml", _bomb),
    "config-huge": ("mreg.yaml", HOSTILE_DOCUMENTS["comments-50mb"]),
}



def registry_cases() -> list[Case]:
    cases = []
    links = {
        "models": ("models",), "models-M": ("models", "show M", "register"),
        "versions": ("show M",), "events": ("show M",), "objects": ("pull", "register"),
        "objects-sha256": ("pull",), "manifest-file": ("show M",), "model-file": ("show M",),
        "tmp": ("register",),
    }
    unread_by_verify = {"tmp"}
    paths = {
        "models": "models", "models-M": "models/M", "versions": "models/M/versions",
        "events": "models/M/events", "objects": "objects", "objects-sha256": "objects/sha256",
        "manifest-file": "models/M/versions/v1.yaml", "model-file": "models/M/model.yaml", "tmp": ".tmp",
    }
    commands = {
        "models": ("models",), "show M": ("show", "M"), "pull": ("pull", "M@v1", "-o", "{in}/out"),
        "register": ("register", "M@v9", "-a", "{in}/w.bin"), "verify": ("verify",),
    }

    def prepare_tmp(relative):  # .tmp/ exists only after a write; make it so it can be a link
        link = _symlink_out(relative)

        def craft(registry, scratch):
            (registry / ".tmp").mkdir(exist_ok=True)
            link(registry, scratch)
        return craft

    for label, uses in links.items():
        for command in (*uses, *(() if label in unread_by_verify else ("verify",))):
            cases.append(Case(f"link-{label}-{command.replace(' ', '-')}", commands[command], INTEGRITY,
                              {"w.bin": lambda: b"new bytes"}, craft=prepare_tmp(paths[label])))
    for label, entries in BAD_LISTINGS.items():
        for command in ("pull", "verify"):
            cases.append(Case(f"listing-{label}-{command}", commands[command], INTEGRITY, craft=_bad_listing(entries)))
    for label, (relative, make) in STORED_DOCUMENTS.items():
        command = ("verify",) if label.startswith("event") else ("show", "M")
        cases.append(Case(f"stored-{label}", command, INTEGRITY, craft=_replace_file(relative, make)))
    return cases


# -- evidence documents that parse but must not count -----------------------------------------

def _evidence(**changes) -> Callable[[], bytes]:
    """A sealed judge-report for M@v1 with ``changes`` (re-sealed, so only the change is wrong)."""
    def make() -> bytes:
        from mreg.evidence import EvidenceDocument

        fields = {"kind": "judge-report", "model": "M", "version": "v1", "manifest": "sha256:" + "0" * 64,
                  "time": "2026-01-01T00:00:00Z", "actor": "a", "verdict": "Pass", "report": {"metrics": []}}
        unsealed = {key: changes.pop(key) for key in list(changes) if key.startswith("raw_")}
        data = EvidenceDocument.model_validate({**fields, **changes}).to_json()
        if unsealed:
            import json

            document = json.loads(data)
            document.update({key.removeprefix("raw_"): value for key, value in unsealed.items()})
            data = json.dumps(document).encode()
        return data
    return make


EVIDENCE_DOCUMENTS = {
    "other-version": _evidence(version="v9"),
    "other-model": _evidence(model="N"),
    "other-manifest": _evidence(),  # the digest of no manifest of M@v1
    "gate-report": _evidence(kind="gate-report", verdict="pass"),
    "unknown-kind": _evidence(raw_kind="canary-verdict"),
    "no-kind": _evidence(raw_kind=None),
    "future-schema": _evidence(raw_schema_version=2),
    "no-seal": _evidence(raw_seal=None),
    "edited-verdict": _evidence(verdict="Fail", raw_verdict="Pass"),
    "not-a-verdict": _evidence(raw_verdict="Great"),
    "not-a-time": _evidence(raw_time="yesterday"),
    "bad-digest": _evidence(raw_manifest="sha256:xyz"),
    "samples-not-digests": _evidence(raw_samples={"canary": "file.json"}),
    "report-list": _evidence(raw_metrics="many"),
    "bare-verdict": lambda: b'{"verdict": "Pass"}',
    "old-judge-report": lambda: b'{"verdict": "Pass", "summary_score": 100.0, "metrics": []}',
}


def evidence_cases() -> list[Case]:
    return [Case(f"evidence-{name}", ("promote", "M@v1", "--to", "production", "--evidence", f"{{in}}/{name}.json"),
                 USAGE, {f"{name}.json": make}) for name, make in EVIDENCE_DOCUMENTS.items()]


def all_cases() -> list[Case]:
    return [*document_cases(), *name_cases(), *artifact_cases(), *pull_cases(), *registry_cases(), *evidence_cases()]
