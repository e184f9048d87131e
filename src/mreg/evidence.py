"""Evidence documents: a judge's or a gate's report bound to the version it judged.

A report alone says "Pass"; it does not say *what* passed. An evidence document names the
model, the version and the digest of its manifest, the reference version (and its
manifest's digest) it was compared with, the digests of the samples it judged, who made it
and when, and it carries a seal (the sha256 of its canonical JSON without the seal), so a
hand edit of its verdict is detected. ``promote`` accepts a document only for the version it
moves, and only while it is fresh (``policy.evidence.max_age``); it verifies by digest and
recomputes nothing. Pure: no I/O, and no numpy (the report is kept as plain data).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, NamedTuple

from pydantic import field_validator, model_validator

from mreg.clock import format_time, parse_time
from mreg.codec import digest_bytes, dump_json, load_yaml
from mreg.errors import UsageError
from mreg.manifest import Digest, Document, Name

KINDS = ("judge-report", "gate-report")
SCHEMA = 1
VERDICTS = {"judge-report": ("Pass", "Marginal", "Fail"), "gate-report": ("pass", "fail")}
FUTURE_SLACK = timedelta(minutes=5)  # clocks of the judging and the promoting machine may differ a little
MAKE_ONE = "make one with 'mreg judge {ref} --canary FILE --baseline FILE -o judge.json'"


class EvidenceDocument(Document):
    """``mreg judge -o`` writes one; ``promote`` stores one per gate it runs (docs/gates.md).

    On disk it is flat: the binding fields beside the report's own keys (``verdict``,
    ``metrics``, ...), so a report's readers keep working. ``report`` holds the rest."""

    ALWAYS_WRITTEN: ClassVar[tuple[str, ...]] = ("kind", "schema_version")
    kind: Literal["judge-report", "gate-report"]
    schema_version: int = SCHEMA
    model: Name
    version: Name
    manifest: Digest
    reference: Name | None = None
    reference_manifest: Digest | None = None
    samples: dict[str, Digest] = {}
    time: str
    actor: str
    verdict: str
    report: dict[str, Any] = {}
    seal: Digest | None = None

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, value: int) -> int:
        if value > SCHEMA:
            raise ValueError(f"schema_version {value} is newer than this mreg understands ({SCHEMA}); upgrade mreg")
        return value

    @field_validator("time")
    @classmethod
    def _instant(cls, value: str) -> str:
        try:
            parse_time(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 instant") from None
        return value

    @model_validator(mode="after")
    def _known_verdict(self) -> "EvidenceDocument":
        if self.verdict not in VERDICTS[self.kind]:
            raise ValueError(f"verdict {self.verdict!r} is not one of {', '.join(VERDICTS[self.kind])}")
        return self

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    def to_data(self) -> dict[str, Any]:
        binding = super().to_data()
        return {**binding.pop("report", {}), **binding}

    @classmethod
    def from_data(cls, data: Any, source: str) -> "EvidenceDocument":
        if isinstance(data, dict):
            data = {**{k: v for k, v in data.items() if k in BINDING}, "report": _body(data)}
        return super().from_data(data, source)

    def expected_seal(self) -> str:
        return digest_bytes(dump_json(self.model_copy(update={"seal": None}).to_data()).encode())

    def to_json(self) -> bytes:
        """The canonical bytes: what ``-o`` writes and what the registry stores."""
        return dump_json(self.sealed().to_data()).encode()


BINDING = frozenset(name for name in EvidenceDocument.model_fields if name != "report")


def _body(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in BINDING}


class Judgement(NamedTuple):
    """What ``judge`` returns: the judge's report, and the document that binds it."""

    report: Any  # mreg.judge.pipeline.JudgeReport (typed there: that module needs numpy)
    evidence: EvidenceDocument


class Subject(NamedTuple):
    """What a document must be bound to: the version being moved, and what serves now."""

    model: str
    version: str
    manifest: str
    serving: str | None
    serving_manifest: str | None

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


def make(
    kind: str, subject: Subject, report: dict[str, Any], samples: dict[str, str], actor: str, at: datetime,
    reference: tuple[str, str] | None,
) -> EvidenceDocument:
    """A sealed document for ``report`` about ``subject``; ``reference`` is the (version,
    manifest digest) it was compared with."""
    return EvidenceDocument(
        kind=kind, model=subject.model, version=subject.version, manifest=subject.manifest,
        reference=reference[0] if reference else None, reference_manifest=reference[1] if reference else None,
        samples=samples, time=format_time(at), actor=actor, verdict=report["verdict"], report=_body(report),
    ).sealed()


def judged_reference(subject: Subject) -> tuple[str, str] | None:
    """A canary is judged against the version serving now (the baseline side), if another."""
    if subject.serving is None or subject.serving == subject.version:
        return None
    return subject.serving, subject.serving_manifest


def parse(raw: bytes, source: str, ref: str) -> EvidenceDocument:
    """An evidence file as a document, or a one-line ``UsageError`` saying what it is instead."""
    data = load_yaml(raw, source)
    if not isinstance(data, dict) or "kind" not in data:
        raise UsageError(f"{source} is not an mreg evidence document (no 'kind'); {MAKE_ONE.format(ref=ref)}")
    if data["kind"] not in KINDS:
        raise UsageError(f"{source}: unknown evidence kind {data['kind']!r} (one of: {', '.join(KINDS)})")
    document = EvidenceDocument.from_data(data, source)
    if document.seal != document.expected_seal():
        raise UsageError(f"{source}: edited after mreg wrote it (its seal does not match); {MAKE_ONE.format(ref=ref)}")
    return document


def check_bound(document: EvidenceDocument, source: str, subject: Subject) -> None:
    """Refuse a document made for another version, or for other bytes of this one."""
    if (document.model, document.version) != (subject.model, subject.version):
        raise UsageError(
            f"{source} is a {document.kind} for {document.ref}, not {subject.ref}; {MAKE_ONE.format(ref=subject.ref)}"
        )
    if document.manifest != subject.manifest:
        raise UsageError(
            f"{source} judged a manifest of {subject.ref} with digest {document.manifest}, "
            f"but the registry's has {subject.manifest}"
        )


def staleness(document: EvidenceDocument, subject: Subject, now: datetime, max_age: timedelta) -> str | None:
    """Why a bound document no longer holds (too old, from the future, judged against a version
    that no longer serves), or None. ``--force`` may override these, never ``check_bound``."""
    made = parse_time(document.time)
    if now - made > max_age:
        return f"made at {document.time}, older than the policy's max_age of {_duration(max_age)}; judge again"
    if made - now > FUTURE_SLACK:
        return f"dated {document.time}, in the future"
    now_reference = judged_reference(subject)
    if document.reference != (now_reference[0] if now_reference else None):
        then = f"{document.model}@{document.reference}" if document.reference else "nothing serving"
        serves = f"{subject.model}@{subject.serving} serves" if now_reference else "nothing else serves"
        return f"judged against {then}, but {serves} now; judge again"
    if now_reference and document.reference_manifest != now_reference[1]:
        return f"judged against other bytes of {document.model}@{document.reference}; judge again"
    return None


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
