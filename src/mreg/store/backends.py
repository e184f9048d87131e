"""The one factory of storage backends: a URL in, the backend that serves it out.

Kept apart from the ``Storage`` protocol so the backends depend on the interface and the
factory on the backends, never the other way round.
"""

from __future__ import annotations

from urllib.parse import urlparse

from mreg.errors import UsageError
from mreg.store.storage import Storage


def is_local(url: str) -> bool:
    scheme = urlparse(url).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and url[1:3] == ":\\")


def open_storage(url: str) -> Storage:
    """A backend for ``url``: a local directory or ``file://`` URL, or ``s3://bucket/prefix``.

    The S3 backend (and s3fs with it) is imported only when an ``s3://`` URL is opened.
    """
    if is_local(url):
        from mreg.store.local import LocalStorage

        return LocalStorage(url)
    scheme = urlparse(url).scheme
    if scheme == "s3":
        from mreg.store.s3 import S3Storage

        return S3Storage(url)
    raise UsageError(f"unsupported registry URL {url!r} (use a directory, file:// or s3://)")
