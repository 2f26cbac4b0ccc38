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
import queue
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from battkg.errors import FormatError, StoreError

_CHUNK = 1 << 20
# Copies read 4 MiB at a time; a second thread hashes each chunk while the next is read and the
# last written (hashlib releases the GIL): one pass costs about what hashing alone costs.
_COPY_CHUNK = 4 << 20


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


def _identity(status: os.stat_result) -> tuple[int, ...]:
    """What changes when a file is written, replaced or touched (ctime cannot be set back by a user)."""
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def copy_hashed(source: Path, target: Path) -> tuple[BlobRef, tuple[int, ...]]:
    """Copy ``source`` to a new file ``target`` reading it once, hashing while copying.

    Returns the copy's checksum and the source's identity (device, inode, size, mtime, ctime) as it
    was while it was read.  A source that changed during the copy (identity or length differ) is a
    StoreError; the caller removes ``target``.  OSError is left to the caller."""
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, open(target, "xb") as dst:
        before = os.fstat(src.fileno())
        if before.st_size <= _COPY_CHUNK:  # one chunk: no thread
            while chunk := src.read(_COPY_CHUNK):
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
        else:
            chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)  # at most ~20 MiB in flight
            failed: list[BaseException] = []

            def hash_chunks() -> None:
                while (chunk := chunks.get()) is not None:
                    if not failed:
                        try:
                            digest.update(chunk)
                        except BaseException as exc:  # noqa: BLE001 - handed to the copying thread
                            failed.append(exc)  # keep taking chunks: the copying thread never blocks

            hasher = threading.Thread(target=hash_chunks, name="battkg-sha256", daemon=True)
            hasher.start()
            try:
                while chunk := src.read(_COPY_CHUNK):
                    chunks.put(chunk)
                    dst.write(chunk)
                    size += len(chunk)
            finally:
                chunks.put(None)
                hasher.join()
            if failed:
                raise failed[0]
        after = os.fstat(src.fileno())
    if _identity(before) != _identity(after) or size != after.st_size:
        raise StoreError(f"{source} changed while it was being ingested (it was written to during the copy); "
                         "nothing was stored")
    return BlobRef(digest.hexdigest(), size), _identity(after)


@dataclass
class StagedFile:
    """A file copied into the staging area with one read (:meth:`BlobStore.stage_file`), to be
    parsed and then adopted as a blob: what was parsed is what is stored."""

    source: Path  # the user's file
    path: Path  # the copy, alone in its own staging folder, under the source's name
    ref: BlobRef
    source_identity: tuple[int, ...]
    copy_identity: tuple[int, ...]

    def check_unchanged(self) -> None:
        """StoreError when the user's file or the staged copy changed since the copy was made."""
        try:
            source_now = _identity(os.stat(self.source))
            copy_now = _identity(os.stat(self.path))
        except OSError as exc:
            raise StoreError(f"{self.source} changed while it was being ingested ({exc.strerror or exc}); "
                             "nothing was stored") from None
        if source_now != self.source_identity or copy_now != self.copy_identity:
            raise StoreError(f"{self.source} changed while it was being ingested (size or modification time "
                             "differ); nothing was stored")

    def discard(self) -> None:
        """Remove the staging folder (the copy, and anything a reader left beside it)."""
        shutil.rmtree(self.path.parent, ignore_errors=True)


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
        try:
            ref, _ = copy_hashed(Path(source), staged)
        except OSError as exc:
            staged.unlink(missing_ok=True)
            raise StoreError(f"cannot copy {source} into the blob store: {exc.strerror or exc}") from exc
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        if expected is not None and ref.sha256 != expected:
            staged.unlink(missing_ok=True)
            raise StoreError(f"{source} changed while it was being ingested (checksum differs); nothing was stored")
        return self.adopt(staged, ref)

    def stage_file(self, source: Path) -> StagedFile:
        """Copy a file into a staging folder of its own, under its own name, hashing while copying.

        The ingest checksums, parses and finally adopts this copy: the file is read once, and the
        bytes parsed are the bytes stored.  Readers see the file's real name (suffix, vendor naming).
        """
        folder = self.tmp_dir / uuid.uuid4().hex
        try:
            folder.mkdir()
            staged = folder / Path(source).name
            ref, source_identity = copy_hashed(Path(source), staged)
            copy_identity = _identity(os.stat(staged))
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            if exc.filename == str(source):
                raise FormatError(source, f"cannot read file: {exc.strerror or exc}") from exc
            raise StoreError(f"cannot copy {source} into the blob store's staging area: {exc.strerror or exc}") from exc
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return StagedFile(Path(source), staged, ref, source_identity, copy_identity)

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
                if stale.is_dir() and not stale.is_symlink():
                    shutil.rmtree(stale, ignore_errors=True)  # a staged raw file's folder, an upload folder
                else:
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

    def adopt_staged(self, staged: StagedFile) -> BlobRef:
        """Adopt a :meth:`BlobStore.stage_file` copy, refused when it or the user's file changed since."""
        staged.check_unchanged()
        return self.adopt(staged.path, staged.ref)

    def rollback(self) -> None:
        for key in self.added:
            self.store.remove(key)
        self.added.clear()
