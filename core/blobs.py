"""Content-addressed blob store for raw files and per-record HDF5 array files.

A blob's key is the SHA-256 of its bytes; it lives at
``blobs/sha256/<first two hex>/<full hex>``.  Writes go to ``tmp/`` first and
are renamed into place, so a blob is either complete or absent.  Reads verify
the checksum.  Nothing here knows about records: :meth:`garbage_collect`
takes the set of keys the graph still references.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from battkg.errors import StoreError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class BlobRef:
    sha256: str
    size: int


def sha256_file(path: Path) -> BlobRef:
    """Checksum and size of a file, streamed."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return BlobRef(digest.hexdigest(), size)


class BlobStore:
    """A directory of immutable, checksummed blobs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blob_dir = self.root / "blobs" / "sha256"
        self.tmp_dir = self.root / "tmp"
        try:
            self.blob_dir.mkdir(parents=True, exist_ok=True)
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create blob store at {self.root}: {exc.strerror or exc}") from exc

    def path_of(self, sha256: str) -> Path:
        return self.blob_dir / sha256[:2] / sha256

    def local_path(self, sha256: str) -> Path:
        """A local file with the blob's bytes, for readers that need a path (h5py).

        Here the blob itself (not re-hashed: HDF5 files can be large); stores on
        other filesystems return a copy verified while it is downloaded.
        """
        path = self.path_of(sha256)
        if not path.is_file():
            raise StoreError(f"blob {sha256} is missing from {self.blob_dir}")
        return path

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def staging_path(self, suffix: str = "") -> Path:
        """A fresh path in the staging area (same filesystem as the blobs)."""
        return self.tmp_dir / f"{uuid.uuid4().hex}{suffix}"

    def adopt(self, staged: Path, ref: BlobRef | None = None) -> tuple[BlobRef, bool]:
        """Move a staged file into the store under its checksum; returns (ref, newly_added).

        ``ref`` is the checksum the caller already computed for a file it wrote itself
        (the staged HDF5); without it the file is hashed here.
        """
        ref = ref or sha256_file(staged)
        target = self.path_of(ref.sha256)
        if target.exists():
            staged.unlink()
            return ref, False
        target.parent.mkdir(exist_ok=True)
        os.replace(staged, target)
        os.chmod(target, 0o444)
        return ref, True

    def put_file(self, source: Path, expected: str | None = None) -> tuple[BlobRef, bool]:
        """Copy a file into the store, hashing while copying; returns (ref, newly_added).

        With ``expected`` (the SHA-256 the record will name), a copy that does not
        match — the file changed while it was being ingested — is refused.
        """
        staged = self.staging_path()
        digest = hashlib.sha256()
        size = 0
        try:
            with open(source, "rb") as src, open(staged, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    dst.write(chunk)
        except OSError as exc:
            staged.unlink(missing_ok=True)
            raise StoreError(f"cannot copy {source} into the blob store: {exc.strerror or exc}") from exc
        ref = BlobRef(digest.hexdigest(), size)
        if expected is not None and ref.sha256 != expected:
            staged.unlink(missing_ok=True)
            raise StoreError(f"{source} changed while it was being ingested (checksum differs); nothing was stored")
        return self.adopt(staged, ref)

    def remove(self, sha256: str) -> None:
        self.path_of(sha256).unlink(missing_ok=True)

    def open_verified(self, sha256: str) -> bytes:
        """The blob's bytes, after checking they still hash to their key."""
        path = self.path_of(sha256)
        if not path.is_file():
            raise StoreError(f"blob {sha256} is missing from {self.blob_dir}")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(f"blob {sha256} is corrupt: its content no longer matches its checksum")
        return data

    def keys(self) -> Iterator[str]:
        for path in self.blob_dir.glob("*/*"):
            if path.is_file():
                yield path.name

    def garbage_collect(self, referenced: set[str], dry_run: bool = False) -> list[str]:
        """Remove blobs not in ``referenced`` and stale staging files; returns removed keys."""
        removed = [key for key in self.keys() if key not in referenced]
        if not dry_run:
            for key in removed:
                self.remove(key)
            for stale in self.tmp_dir.glob("*"):
                stale.unlink(missing_ok=True)
        return removed


@dataclass
class BlobTransaction:
    """Blobs added during one ingest, removed again if the ingest fails.

    Blobs that already existed are never touched, so a failed ingest leaves
    the blob store exactly as it was.
    """

    store: BlobStore
    added: list[str] = field(default_factory=list)

    def put_file(self, source: Path, expected: str | None = None) -> BlobRef:
        ref, new = self.store.put_file(source, expected)
        if new:
            self.added.append(ref.sha256)
        return ref

    def adopt(self, staged: Path, ref: BlobRef | None = None) -> BlobRef:
        ref, new = self.store.adopt(staged, ref)
        if new:
            self.added.append(ref.sha256)
        return ref

    def rollback(self) -> None:
        for key in self.added:
            self.store.remove(key)
        self.added.clear()
