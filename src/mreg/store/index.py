"""The derived index: parsed registry files in SQLite, so reads neither re-parse YAML nor
decode what they do not need.

Invariants:

- The files are the truth. A row is used only while the file's size and identity token
  (``mtime_ns:inode:ctime_ns`` locally, the ETag on S3) are those it was parsed from, as
  git's index validates its entries; any other file is read and parsed again.
- A row is written only from bytes just read from its file, and carries an HMAC over its
  content under a key of this user's (``index.key`` in the user's cache directory), so a
  row edited or planted in the index file is a miss, never an answer.
- Reads are partial: a command about one model loads that model's rows only.
- A row may hold a digest only (``data`` empty): a read that needed the file's digest,
  not its document (a listing of versions), checked its bytes (``check``) without parsing
  them. A later read that needs the document parses the file then.
- Nothing is written until ``flush`` (after a command succeeded), then in one transaction,
  so a refused command leaves the index as it was. A failure to write is harmless.
- It lives at ``.cache/index.sqlite`` in a local registry and, for a registry on S3, in
  the user's cache directory keyed by the registry's URL; ``mreg reindex`` rebuilds it and
  deleting it is always safe.

Besides file rows the index keeps *derived* rows per model (``kept``): a namespace, a key
(what they were derived from, e.g. the newest event's digest) and a JSON value, MAC'd the
same way. What they mean belongs to the domain (``mreg.repository``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import stat
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, NamedTuple

from mreg.layout import INDEX
from mreg.store.backends import is_local
from mreg.store.digests import cache_dir
from mreg.store.storage import FileInfo, Storage

INDEX_FORMAT = "1"
PARALLEL_READS = 16
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, model TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL,
    token TEXT NOT NULL, digest TEXT NOT NULL, data TEXT NOT NULL, mac BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS files_by_model ON files (model, kind);
CREATE TABLE IF NOT EXISTS kept (
    namespace TEXT NOT NULL, model TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    mac BLOB NOT NULL, PRIMARY KEY (namespace, model));
"""


class Parsed(NamedTuple):
    """A file's parsed document and the sha256 of its bytes."""

    data: Any
    digest: str


class Row(NamedTuple):
    size: int
    token: str
    digest: str
    data: str  # JSON text, decoded only when used; "" for a digest-only row

    @property
    def parsed(self) -> bool:
        return self.data != ""


def model_of(path: str) -> str:
    """``models/M/versions/v1.yaml`` -> ``M``: rows are grouped by model ("" for mreg.yaml)."""
    parts = path.split("/", 2)
    return parts[1] if len(parts) == 3 else ""


def kind_of(path: str) -> str:
    """``versions``, ``events`` or ``model.yaml``: what a model's file is (else its path)."""
    parts = path.split("/", 3)
    return parts[2] if len(parts) > 2 else path


def index_location(storage: Storage) -> Path:
    """``.cache/index.sqlite`` under a local root; else keyed by URL in the user's cache."""
    if is_local(storage.url):
        return Path(storage.url, INDEX)
    name = hashlib.sha256(storage.url.encode()).hexdigest()[:32]
    return cache_dir() / "index" / f"{name}.sqlite"


def _user_key() -> bytes:
    """This user's MAC key, made on first use; a fresh one per process if it cannot be kept
    (then no row from another process is trusted, which costs parsing, never correctness)."""
    path = cache_dir() / "index.key"
    try:
        key = path.read_bytes()
        if len(key) == 32:
            return key
    except OSError:
        pass
    key = secrets.token_bytes(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(key)
    except FileExistsError:  # another process made it first: use theirs
        return _user_key()
    except OSError:
        pass
    return key


def _safe_directory(directory: Path) -> bool:
    """Create ``directory`` if needed; refuse one that is a symbolic link (it would write elsewhere)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return stat.S_ISDIR(os.lstat(directory).st_mode)
    except OSError:
        return False


class FileIndex:
    def __init__(self, storage: Storage, parse: Callable[[bytes, str], Any], location: Path | None = None,
                 check: Callable[[bytes, str], None] = lambda raw, path: None) -> None:
        self._storage = storage
        self._parse = parse
        self._check = check  # what a digest-only read asks of the bytes (``parse`` does it too)
        self._location = location or index_location(storage)
        self._conn: sqlite3.Connection | None | bool = None  # False: unavailable
        self._key: bytes | None = None
        self._rows: dict[str, Row | None] = {}  # path -> row (None: not in the index), once asked
        self._whole: set[str | None] = set()  # models whose spec and manifest rows are all in _rows; None: all rows
        self.rejected: set[str] = set()  # paths whose row failed its MAC: forged, or another user's
        self._learned: dict[str, tuple[Row, bytes]] = {}  # path -> (row, mac), to write on flush
        self._forgotten: set[str] = set()
        self._kept: dict[tuple[str, str], tuple[str, str] | None] = {}  # (namespace, model) -> (key, value)
        self._kept_learned: dict[tuple[str, str], tuple[str, str] | None] = {}
        self._kept_everything: set[str] = set()  # namespaces whose rows are all in _kept

    # -- the database ------------------------------------------------------------------

    def _connection(self, create: bool = False) -> sqlite3.Connection | None:
        """The open index; None if there is none yet (reads never create it: a refused
        command leaves no trace) or it cannot be used (a read-only disk)."""
        if self._conn is None and (create or self._location.exists()):
            self._conn = self._open() or False
        return self._conn or None

    def _open(self, retry: bool = True) -> sqlite3.Connection | None:
        if not _safe_directory(self._location.parent):
            return None
        try:
            conn = sqlite3.connect(self._location, timeout=10, isolation_level=None, check_same_thread=False)
            weakref.finalize(self, conn.close)  # its statement cache holds it in a cycle: close with us
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            owner = hashlib.sha256(self._mac("owner")).hexdigest()[:32]
            if _meta(conn, "format") != INDEX_FORMAT or _meta(conn, "owner") != owner:
                # another format, or another user's (whose rows we cannot check): start afresh
                conn.executescript("DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS kept; DROP TABLE IF EXISTS meta;")
                conn.executescript(SCHEMA)
                conn.executemany("INSERT INTO meta VALUES (?, ?)", [("format", INDEX_FORMAT), ("owner", owner)])
            return conn
        except sqlite3.DatabaseError:  # not a database (damaged, or planted): start afresh
            if not retry:
                return None
            self._remove_files()
            return self._open(retry=False)
        except sqlite3.Error:
            return None

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{self._location}{suffix}")
            except OSError:
                pass

    def _mac(self, *parts: object) -> bytes:
        if self._key is None:
            self._key = _user_key()
        message = "\0".join(str(part) for part in parts).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _fetch(self, where: str, parameters: tuple) -> None:
        """Bring the rows ``where`` selects into memory, leaving out forged ones (and rows
        this process has learned anew)."""
        conn = self._connection()
        if conn is None:
            return
        try:
            rows = conn.execute(f"SELECT path, size, token, digest, data, mac FROM files WHERE {where}", parameters).fetchall()
        except sqlite3.Error:
            return
        for path, size, token, digest, data, mac in rows:
            if path in self._learned:
                continue
            if hmac.compare_digest(mac, self._mac(path, size, token, digest, data)):
                self._rows[path] = Row(size, token, digest, data)
            else:
                self.rejected.add(path)

    def load_model(self, model: str, events: bool = False) -> None:
        """Every row of one model's spec and manifests at once (its events come one by one,
        unless ``events``: a check of all of them)."""
        if events:
            self._fetch("model = ? AND kind = 'events'", (model,))
        if model not in self._whole:
            self._whole.add(model)
            self._fetch("model = ? AND kind != 'events'", (model,))

    def load_all(self) -> None:
        """Every row (a command over all manifests of all models)."""
        if None not in self._whole:
            self._whole.add(None)
            self._fetch("1", ())

    def _ensure(self, paths: list[str]) -> None:
        unknown = [path for path in paths if path not in self._rows and not self._loaded(path)]
        for path in unknown:
            self._rows[path] = None
        if len(unknown) == 1:
            self._fetch("path = ?", (unknown[0],))
        elif unknown:
            self._fetch("path IN (SELECT value FROM json_each(?))", (json.dumps(unknown),))

    def _loaded(self, path: str) -> bool:
        return None in self._whole or (model_of(path) in self._whole and kind_of(path) != "events")

    # -- parsed files --------------------------------------------------------------------

    def _cached(self, path: str, info: FileInfo) -> Row | None:
        self._ensure([path])
        row = self._rows.get(path)
        if row is not None and row.size == info.size and row.token == info.token:
            return row
        return None

    def learn_read(self, path: str, info: FileInfo, raw: bytes) -> Parsed:
        """Parse ``raw``, just read from ``path`` as ``info`` says, and record it."""
        parsed = Parsed(self._parse(raw, path), _digest(raw))
        self.learn(path, info, parsed)
        return parsed

    def learn(self, path: str, info: FileInfo, parsed: Parsed) -> None:
        """Record ``parsed`` as the content of ``path`` as listed (``info``)."""
        self._remember(path, Row(info.size, info.token, parsed.digest, json.dumps(parsed.data, sort_keys=True, separators=(",", ":"))))

    def _learn_digest(self, path: str, info: FileInfo, raw: bytes) -> str:
        self._check(raw, path)
        digest = _digest(raw)
        self._remember(path, Row(info.size, info.token, digest, ""))
        return digest

    def _remember(self, path: str, row: Row) -> None:
        self._rows[path] = row
        self._learned[path] = (row, self._mac(path, *row))
        self._forgotten.discard(path)

    def cached(self, path: str, info: FileInfo) -> Parsed | None:
        """The parsed content of ``path`` if the index holds it as listed, else None."""
        row = self._cached(path, info)
        return Parsed(json.loads(row.data), row.digest) if row is not None and row.parsed else None

    def get(self, path: str, info: FileInfo) -> Parsed:
        """The parsed content and digest of ``path``, re-reading it if it changed."""
        return self.cached(path, info) or self.learn_read(path, info, self._storage.read(path))

    def digests(self, listing: dict[str, FileInfo]) -> dict[str, str]:
        """The sha256 of each listed file's bytes, from valid rows where the index has them;
        the rest are read (many at a time) and checked, but not parsed: a listing of a
        model's versions needs their digests, and parsing is most of a cold read's cost."""
        self._ensure(list(listing))
        found = {path: row.digest for path, info in listing.items() if (row := self._cached(path, info)) is not None}
        missing = [(path, info) for path, info in listing.items() if path not in found]
        for (path, info), raw in zip(missing, self._read_many([path for path, _ in missing])):
            found[path] = self._learn_digest(path, info, raw)
        return {path: found[path] for path in listing}

    def _read_many(self, paths: list[str]) -> list[bytes]:
        """On S3 many reads in flight hide round trips; on a local disk threads only cost."""
        if len(paths) < 2 or is_local(self._storage.url):
            return [self._storage.read(path) for path in paths]
        with ThreadPoolExecutor(PARALLEL_READS) as pool:
            return list(pool.map(self._storage.read, paths))

    def disagrees(self, path: str, info: FileInfo, raw: bytes) -> bool:
        """Whether a row claims to stand for ``path`` as listed but holds other bytes' digest."""
        row = self._cached(path, info)
        return row is not None and row.digest != _digest(raw)

    def prefetch(self, listing: dict[str, FileInfo]) -> None:
        """Read every listed YAML file the index does not hold as listed, many at a time: on
        S3 a cold read then costs round trips in parallel rather than one after another."""
        self._ensure(list(listing))
        missing = [(path, info) for path, info in listing.items()
                   if path.endswith(".yaml") and not ((row := self._cached(path, info)) and row.parsed)]
        if len(missing) < 2:
            return
        for (path, info), raw in zip(missing, self._read_many([path for path, _ in missing])):
            self.learn_read(path, info, raw)

    def forget_missing(self, present: set[str], within: set[str] | None = None, keep: set[str] | None = None) -> None:
        """Drop rows of files that no longer exist: after a full listing of ``models/``, or of
        the folders of the models ``within``, while every model outside ``keep`` is gone."""
        conn = self._connection()
        try:
            if conn is None:
                stored = set()
            elif within is None:
                stored = {path for (path,) in conn.execute("SELECT path FROM files")}
            else:
                gone = {model for (model,) in conn.execute("SELECT DISTINCT model FROM files")} - (keep or set())
                asked = sorted((within | gone) - {""})
                stored = {path for (path,) in conn.execute(
                    "SELECT path FROM files WHERE model IN (SELECT value FROM json_each(?))", (json.dumps(asked),))}
        except sqlite3.Error:
            stored = set()
        known = stored | {path for path, row in self._rows.items() if row}
        if within is not None:
            known = {path for path in known if model_of(path) in within or model_of(path) not in (keep or set())}
        for path in {path for path in known if path.startswith("models/")} - present:
            self._rows.pop(path, None)
            self._learned.pop(path, None)
            self._forgotten.add(path)

    # -- derived rows ----------------------------------------------------------------------

    def kept(self, namespace: str, model: str) -> tuple[str, Any] | None:
        """The (key, value) derived for ``model`` under ``namespace``, if any and not forged."""
        found = self.kept_text(namespace, model)
        return None if found is None else (found[0], json.loads(found[1]))

    def kept_text(self, namespace: str, model: str) -> tuple[str, str] | None:
        """``kept`` with the value as its JSON text, for a caller that decodes few of many."""
        slot = (namespace, model)
        if slot not in self._kept:
            self._kept[slot] = None if namespace in self._kept_everything else self._read_kept(namespace, model)
        return self._kept[slot]

    def _read_kept(self, namespace: str, model: str) -> tuple[str, str] | None:
        conn = self._connection()
        if conn is None:
            return None
        try:
            row = conn.execute("SELECT key, value, mac FROM kept WHERE namespace = ? AND model = ?",
                               (namespace, model)).fetchone()
        except sqlite3.Error:
            return None
        if row is None or not hmac.compare_digest(row[2], self._mac(namespace, model, row[0], row[1])):
            return None
        return row[0], row[1]

    def load_kept(self, namespace: str) -> None:
        """Every model's row under ``namespace`` at once (a command over all models)."""
        conn = self._connection()
        rows = []
        if conn is not None:
            try:
                rows = conn.execute("SELECT model, key, value, mac FROM kept WHERE namespace = ?", (namespace,)).fetchall()
            except sqlite3.Error:
                rows = []
        found = {model: (key, value) for model, key, value, mac in rows
                 if hmac.compare_digest(mac, self._mac(namespace, model, key, value))}
        self._kept_everything.add(namespace)
        for model, entry in found.items():
            self._kept.setdefault((namespace, model), entry)

    def keep(self, namespace: str, model: str, key: str, value: Any) -> str:
        """Remember ``value`` for ``model``, derived from what ``key`` names (written on flush);
        returns its JSON text."""
        return self.keep_text(namespace, model, key, json.dumps(value, sort_keys=True, separators=(",", ":")))

    def keep_text(self, namespace: str, model: str, key: str, text: str) -> str:
        self._kept[(namespace, model)] = self._kept_learned[(namespace, model)] = (key, text)
        return text

    def drop_kept(self, namespace: str, model: str) -> None:
        self._kept[(namespace, model)] = self._kept_learned[(namespace, model)] = None

    # -- writing -------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what this process learned, in one transaction; a failure here is harmless."""
        if not (self._learned or self._forgotten or self._kept_learned):
            return
        conn = self._connection(create=True)
        if conn is None:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("DELETE FROM files WHERE path = ?", [(path,) for path in sorted(self._forgotten)])
            conn.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(path, model_of(path), kind_of(path), *row, mac) for path, (row, mac) in self._learned.items()],
            )
            for (namespace, model), entry in self._kept_learned.items():
                if entry is None:
                    conn.execute("DELETE FROM kept WHERE namespace = ? AND model = ?", (namespace, model))
                else:
                    conn.execute("INSERT OR REPLACE INTO kept VALUES (?, ?, ?, ?, ?)",
                                 (namespace, model, *entry, self._mac(namespace, model, *entry)))
            conn.execute("COMMIT")
        except sqlite3.Error:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            return
        self._learned, self._forgotten, self._kept_learned = {}, set(), {}

    def database(self) -> sqlite3.Connection | None:
        """The index's connection, for derived tables the domain keeps in it (``find``'s);
        None where there can be no index (then the caller works in memory)."""
        return self._connection(create=True)

    def exists(self) -> bool:
        return self._location.exists()

    def intact(self) -> bool:
        """Whether the index file passes SQLite's own structural check (``verify`` asks)."""
        conn = self._connection()
        if conn is None:
            return True
        try:
            return conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        except sqlite3.Error:
            return False

    def clear(self) -> None:
        """Forget everything: the index file is deleted and made afresh on the next flush."""
        if self._conn:
            self._conn.close()
        self._conn = None
        self._remove_files()
        self._rows, self._whole, self._learned, self._forgotten = {}, set(), {}, set()
        self._kept, self._kept_learned, self._kept_everything = {}, {}, set()


def _digest(raw: bytes) -> str:
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None
