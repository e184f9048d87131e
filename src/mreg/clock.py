"""Who and when: the actor and timestamp recorded on registrations and events.

``SOURCE_DATE_EPOCH`` (seconds since 1970, as in reproducible builds) fixes the time so a
registry can be rebuilt byte-for-byte; ``MREG_ACTOR`` names the actor (CI jobs set it).
"""

from __future__ import annotations

import getpass
import os
from datetime import datetime, timezone


def now() -> datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    return datetime.now(tz=timezone.utc).replace(microsecond=0)


def actor() -> str:
    explicit = os.environ.get("MREG_ACTOR")
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def stamp(who: str | None = None, when: datetime | None = None) -> tuple[str, str]:
    """(actor, time) to record: the given ones (an importer keeps its source's), else now's."""
    return who or actor(), format_time(when or now())


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second: one spelling for every stored time."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse a user-given instant; a date or a time without zone is taken as UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
