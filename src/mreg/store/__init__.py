"""Storage for a registry: the only package that performs I/O on registry files.

Invariants every backend keeps:

- Paths are relative, ``/``-separated, without empty, ``.`` or ``..`` segments.
- ``create`` is atomic and exclusive: the name appears with its full content or not at
  all, and it never replaces an existing file (``AlreadyExists``). It is how manifests,
  events and blobs are written; those are never modified afterwards.
- ``replace`` is atomic but may overwrite: only for mutable files (model.yaml, caches).
- A write has reached stable storage before the call returns.
- ``stage`` streams bytes of unknown name to a temporary place and ``commit`` gives them
  their final name exclusively, so an object is hashed and stored in one pass.
"""

from mreg.store.backends import is_local, open_storage
from mreg.store.storage import FileInfo, Staged, Storage, check_path

__all__ = ["FileInfo", "Staged", "Storage", "check_path", "is_local", "open_storage"]
