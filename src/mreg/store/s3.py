"""A registry (or a blob store) under ``s3://bucket/prefix``, through s3fs.

Invariants, on any S3 server that honours conditional writes (AWS, SeaweedFS, MinIO):

- ``create`` is one PUT with ``If-None-Match: *``: the server refuses it (412) when the key
  exists, which is our ``AlreadyExists``. A 409 ``ConditionalRequestConflict`` (AWS, when
  two conditional writes to one key overlap) is retried; the retry then sees the winner.
  A create is never silently turned into an overwrite.
- Existence is decided by an object (HEAD), never by a prefix: a prefix whose objects were
  deleted may still be listed for a while.
- A listing is one paginated, recursive LIST of ``prefix/`` (1,000 keys a page), so reading
  a registry costs requests per thousand files, not per file. Listings are never cached
  (``use_listings_cache=False``): several processes write the same registry.
- Staged bytes (blobs) up to one part are kept in memory: the caller has hashed them by
  ``commit``, so a blob that is already present is found by one HEAD and not sent again.
  Larger ones are streamed, while they are hashed, as a multipart upload to ``.tmp/<uuid>``;
  ``commit`` gives them their final key with a server-side copy under ``If-None-Match: *``
  and deletes the temporary key. The source file is read once; the price is that a large
  blob that turns out to exist already was uploaded once for nothing (docs/s3.md).
- Credentials and endpoint come from the standard AWS environment (variables, profiles,
  instance roles) and are never printed; an unreachable endpoint, missing credentials or
  a refused signature is ``StoreUnavailable`` (exit 7) with one line saying which.
- Giving up: a connection must open within ``CONNECT_TIMEOUT`` seconds, and a request is
  tried ``ATTEMPTS`` times in all with botocore's "standard" retries (exponential backoff
  with jitter; throttling and 5xx answers are retried too). botocore's own default, five
  "legacy" attempts, kept a closed port busy for 8-10 s before exit 7; now it takes well
  under a second; a host that never answers takes about ``ATTEMPTS * CONNECT_TIMEOUT``
  seconds.
  ``AWS_MAX_ATTEMPTS`` and ``AWS_RETRY_MODE`` (or ``max_attempts`` and ``retry_mode`` in
  the AWS profile) override these two.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from contextlib import contextmanager
from typing import BinaryIO, Iterator, Mapping
from urllib.parse import urlparse

from mreg.errors import (
    AlreadyExists, ConcurrentUpdate, MissingDependency, PathNotFound, StoreUnavailable, UsageError,
)
from mreg.layout import TEMP_DIR
from mreg.store.storage import FileInfo, check_path

PART = 16 << 20  # multipart part size, and the largest blob kept in memory before commit
COPY_LIMIT = 5 << 30  # the largest object one CopyObject may copy
MAX_CONNECTIONS = 16  # per process; bounds parallel transfers too
CONFLICT_RETRIES = 5
CONNECT_TIMEOUT = 5  # seconds (s3fs's own default): two lost SYNs, retransmitted after 1 s and 3 s, still connect
ATTEMPTS = 3  # per request, the first included: the "standard" retry mode's default in every AWS SDK
PARALLEL_CREATES = 8  # create_many's PUTs in flight, below MAX_CONNECTIONS


def _client_errors(exc: BaseException) -> Iterator[dict]:
    """The ``Error`` and ``ResponseMetadata`` of every botocore ClientError in the chain."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            yield {**response.get("Error", {}), **response.get("ResponseMetadata", {})}
        exc = exc.__cause__ or exc.__context__


def _has_error(exc: BaseException, codes: set[str], status: int) -> bool:
    return any(
        error.get("Code") in codes or error.get("HTTPStatusCode") == status
        for error in _client_errors(exc)
    )


def is_precondition_failed(exc: BaseException) -> bool:
    """A conditional write lost: 412 PreconditionFailed, which s3fs wraps in ``OSError(22)``."""
    return _has_error(exc, {"PreconditionFailed", "412"}, 412)


def is_conditional_conflict(exc: BaseException) -> bool:
    """AWS's 409 for two overlapping conditional writes to one key: retry, do not report."""
    return _has_error(exc, {"ConditionalRequestConflict"}, 409)


def session():
    """The aiobotocore session for the process's current ``AWS_*`` environment.

    A session keeps the credentials it resolved first, so a process whose keys, profile or
    endpoint change (a notebook, a test suite) gets a session per distinct environment
    instead of silently using the old keys. The sessions share one data loader, which holds
    the parsed S3 service model: a client costs ~50 ms, not ~400 ms.
    """
    return _session_for(tuple(sorted((name, value) for name, value in os.environ.items() if name.startswith("AWS_"))))


@functools.cache
def _session_for(environment: tuple[tuple[str, str], ...]):
    from aiobotocore.session import AioSession

    made = AioSession()
    made.register_component("data_loader", _data_loader())
    return made


@functools.cache
def _data_loader():
    from aiobotocore.session import AioSession

    return AioSession().get_component("data_loader")


def client_config() -> dict:
    """botocore ``Config`` settings for every S3 client mreg makes (the registry's, and
    fsspec's for an ``-a s3://`` artifact): how long to wait, how often to retry."""
    retries = {}  # what the user configured is left out here, so botocore reads it as usual
    if not _configured("retry_mode", "AWS_RETRY_MODE"):
        retries["mode"] = "standard"
    if not _configured("max_attempts", "AWS_MAX_ATTEMPTS"):
        retries["total_max_attempts"] = ATTEMPTS
    return {"connect_timeout": CONNECT_TIMEOUT, "retries": retries, "max_pool_connections": MAX_CONNECTIONS}


def _configured(name: str, variable: str) -> bool:
    """Whether the environment or the AWS profile (``~/.aws/config``) sets ``name``."""
    import botocore.exceptions

    if variable in os.environ:
        return True
    try:
        return name in session().get_scoped_config()
    except botocore.exceptions.ProfileNotFound:  # botocore reports that itself, on first use
        return False


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0] or type(exc).__name__


class S3Staged:
    """Bytes on their way to a blob key; see the module docstring for the two sizes."""

    def __init__(self, storage: "S3Storage") -> None:
        self._storage = storage
        self._buffer = bytearray()
        self._temp: str | None = None
        self._file = None

    def write(self, chunk: bytes) -> None:
        if self._file is not None:
            self._file.write(chunk)
            return
        self._buffer += chunk
        if len(self._buffer) >= PART:
            self._temp = f"{TEMP_DIR}/{uuid.uuid4().hex}"
            with self._storage.translating(self._temp):
                self._file = self._storage.fs.open(self._storage.full(self._temp), "wb", block_size=PART)
                self._file.write(bytes(self._buffer))
            self._buffer = bytearray()

    def commit(self, path: str) -> bool:
        storage = self._storage
        if self._file is None:
            if storage.exists(path):
                return False
            try:
                storage.create(path, bytes(self._buffer))
            except AlreadyExists:
                return False
            return True
        try:
            with storage.translating(self._temp):
                self._file.close()  # completes the multipart upload
            return storage.copy_exclusive(self._temp, path)
        finally:
            storage.delete(self._temp)

    def abort(self) -> None:
        if self._file is not None:
            with self._storage.translating(self._temp):
                self._file.discard()  # aborts the multipart upload
        self._buffer = bytearray()


class S3Storage:
    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        if not self.bucket or parsed.query or parsed.fragment:
            raise UsageError(f"invalid S3 URL {url!r} (expected s3://bucket/prefix)")
        if self.prefix:
            check_path(self.prefix)
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        try:
            import s3fs
        except ImportError:
            raise MissingDependency("s3fs", "s3") from None

        # A client of its own (its requests can be counted through its event hooks), made
        # from the process's one botocore session, which has already parsed the service model.
        self.fs = s3fs.S3FileSystem(
            use_listings_cache=False,
            skip_instance_cache=True,
            session=session(),
            config_kwargs=client_config(),
        )

    # -- names and errors ------------------------------------------------------------------

    def key(self, path: str) -> str:
        check_path(path)
        return f"{self.prefix}/{path}" if self.prefix else path

    def full(self, path: str) -> str:
        return f"{self.bucket}/{self.key(path)}"

    @contextmanager
    def translating(self, path: str, missing: type | None = PathNotFound) -> Iterator[None]:
        """Turn s3fs/botocore failures into mreg errors; the caller handles conflicts first."""
        import botocore.exceptions

        try:
            yield
        except FileNotFoundError:
            if missing is None:
                raise
            if missing is PathNotFound:
                raise PathNotFound(f"{self.url}/{path}") from None
            raise StoreUnavailable(self.url, f"bucket {self.bucket} does not exist") from None
        except PermissionError:
            raise StoreUnavailable(
                self.url, "access denied (check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
            ) from None
        except botocore.exceptions.NoCredentialsError:
            raise StoreUnavailable(
                self.url, "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise StoreUnavailable(self.url, _first_line(exc)) from None
        except OSError as exc:
            if is_precondition_failed(exc) or is_conditional_conflict(exc):
                raise  # the caller decides what a lost conditional write means
            raise StoreUnavailable(self.url, _first_line(exc)) from None

    # -- reading ---------------------------------------------------------------------------

    def read(self, path: str) -> bytes:
        with self.translating(path):
            return self.fs.cat_file(self.full(path), max_concurrency=1)  # one GET, no HEAD first

    def open_read(self, path: str) -> BinaryIO:
        with self.translating(path):
            return self.fs.open(self.full(path), "rb", block_size=PART, cache_type="none")

    def iter_chunks(self, path: str) -> Iterator[bytes]:
        with self.open_read(path) as stream, self.translating(path):
            while chunk := stream.read(PART):
                yield chunk

    def exists(self, path: str) -> bool:
        """One HEAD of the object itself (s3fs's ``exists`` would fall back to listing a prefix)."""
        with self.translating(path, missing=None):
            try:
                self.fs.call_s3("head_object", Bucket=self.bucket, Key=self.key(path))
            except FileNotFoundError:
                return False
        return True

    def listing(self, prefix: str) -> dict[str, FileInfo]:
        """Every object below the directory ``prefix``, by one paginated recursive LIST.

        Keys in dot-directories below ``prefix`` (``.cache/``, ``.tmp/``) are left out, as on a local disk.
        """
        base = self.key(prefix) + "/" if prefix else (f"{self.prefix}/" if self.prefix else "")
        found: dict[str, FileInfo] = {}
        request = {"Bucket": self.bucket, "Prefix": base, "MaxKeys": 1000}
        with self.translating(prefix or ".", missing=StoreUnavailable):
            while True:
                page = self.fs.call_s3("list_objects_v2", **request)
                for item in page.get("Contents", []):
                    relative = item["Key"][len(self.prefix) + 1 if self.prefix else 0:]
                    folders = relative[len(prefix) + 1 if prefix else 0:].split("/")[:-1]
                    if relative.endswith("/") or any(folder.startswith(".") for folder in folders):
                        continue
                    found[relative] = FileInfo(
                        item["Size"], item["ETag"].strip('"'), item["LastModified"].timestamp()
                    )
                if not page.get("IsTruncated"):
                    break
                request["ContinuationToken"] = page["NextContinuationToken"]
        return dict(sorted(found.items()))

    # -- writing ---------------------------------------------------------------------------

    def create(self, path: str, data: bytes) -> FileInfo:
        """One create-only PUT; ``AlreadyExists`` if the key exists, whoever wrote it."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                with self.translating(path, missing=StoreUnavailable):
                    response = self.fs.pipe_file(self.full(path), data, mode="create")
                return FileInfo(len(data), response["ETag"].strip('"'), time.time())
            except OSError as exc:
                if is_precondition_failed(exc):
                    raise AlreadyExists(path) from None
                if not is_conditional_conflict(exc):
                    raise
                time.sleep(0.05 * 2**attempt)
        raise ConcurrentUpdate(path, "the server kept reporting conflicting conditional writes")

    def create_many(self, files: Mapping[str, bytes]) -> dict[str, FileInfo]:
        """Create-only PUTs, ``PARALLEL_CREATES`` at a time (each one is durable on its own)."""
        from concurrent.futures import ThreadPoolExecutor

        def create(path: str) -> FileInfo | None:
            try:
                return self.create(path, files[path])
            except AlreadyExists:
                return None

        with ThreadPoolExecutor(PARALLEL_CREATES) as pool:
            infos = list(pool.map(create, files))
        return {path: info for path, info in zip(files, infos) if info is not None}

    def replace(self, path: str, data: bytes) -> None:
        """A plain PUT: atomic (readers see the old or the new object), may overwrite."""
        with self.translating(path, missing=StoreUnavailable):
            self.fs.pipe_file(self.full(path), data)

    def read_tagged(self, path: str) -> tuple[bytes, str] | None:
        """One GET: the body and the ETag of exactly that body."""
        from fsspec.asyn import sync

        async def get() -> tuple[bytes, str]:
            response = await self.fs._call_s3("get_object", Bucket=self.bucket, Key=self.key(path))
            async with response["Body"] as stream:
                return await stream.read(), response["ETag"]

        with self.translating(path, missing=None):
            try:
                return sync(self.fs.loop, get)
            except FileNotFoundError:
                return None

    def swap(self, path: str, tag: str | None, data: bytes) -> bool:
        """One conditional PUT: ``If-Match: <ETag>``, or ``If-None-Match: *`` for a new key."""
        condition = {"IfNoneMatch": "*"} if tag is None else {"IfMatch": tag}
        for attempt in range(CONFLICT_RETRIES):
            try:
                with self.translating(path, missing=StoreUnavailable):
                    self.fs.call_s3("put_object", Bucket=self.bucket, Key=self.key(path), Body=data, **condition)
                return True
            except OSError as exc:
                if is_precondition_failed(exc):
                    return False
                if not is_conditional_conflict(exc):
                    raise
                time.sleep(0.05 * 2**attempt)
        raise ConcurrentUpdate(path, "the server kept reporting conflicting conditional writes")

    def delete(self, path: str) -> None:
        with self.translating(path, missing=None):
            try:
                self.fs.rm_file(self.full(path))
            except FileNotFoundError:
                pass

    def copy_exclusive(self, source: str, path: str) -> bool:
        """Server-side copy of ``source`` to ``path`` unless ``path`` exists (False then)."""
        condition = {"IfNoneMatch": "*"}
        try:
            with self.translating(path, missing=StoreUnavailable):
                size = self.fs.call_s3("head_object", Bucket=self.bucket, Key=self.key(source))["ContentLength"]
                if size <= COPY_LIMIT:
                    self.fs.call_s3(
                        "copy_object", Bucket=self.bucket, Key=self.key(path),
                        CopySource={"Bucket": self.bucket, "Key": self.key(source)}, **condition,
                    )
                else:
                    self._copy_in_parts(source, path, size, condition)
        except OSError as exc:
            if is_precondition_failed(exc):
                return False
            raise
        return True

    def _copy_in_parts(self, source: str, path: str, size: int, condition: dict) -> None:
        """A copy too large for one CopyObject: UploadPartCopy ranges, then a conditional complete."""
        call, target = self.fs.call_s3, {"Bucket": self.bucket, "Key": self.key(path)}
        upload = call("create_multipart_upload", **target)["UploadId"]
        parts = []
        try:
            for number, start in enumerate(range(0, size, COPY_LIMIT), start=1):
                end = min(start + COPY_LIMIT, size) - 1
                copied = call(
                    "upload_part_copy", **target, UploadId=upload, PartNumber=number,
                    CopySource={"Bucket": self.bucket, "Key": self.key(source)},
                    CopySourceRange=f"bytes={start}-{end}",
                )
                parts.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
            call("complete_multipart_upload", **target, UploadId=upload,
                 MultipartUpload={"Parts": parts}, **condition)
        except BaseException:
            call("abort_multipart_upload", **target, UploadId=upload)
            raise

    def stage(self) -> S3Staged:
        return S3Staged(self)
