"""The content-addressed blob store on any fsspec filesystem (object stores, memory).

Same layout and promises as the local :class:`~battkg.blobs.BlobStore`
(``<prefix>/blobs/sha256/<xx>/<sha256>``, a blob is complete or absent,
checksums verified on read), for deployments whose graph store is shared:

    BATTKG_BLOBS=s3://battkg-blobs/site-a      (needs the s3fs package; credentials from the AWS chain)
    BATTKG_BLOBS=memory://battkg               (tests)
    BATTKG_BLOBS=file:///srv/battkg            (a local or mounted directory: the plain BlobStore)

Writing stays local first: HDF5 files are staged in a local directory, hashed,
then uploaded under their checksum.  An object store makes an object visible
only when its upload completed; on other filesystems the upload goes to a
``.part-*`` name that is renamed into place.  Readers that need a file (h5py)
get a verified copy in a local cache (:meth:`FsspecBlobStore.local_path`).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Iterator

from battkg.blobs import BlobRef, BlobStore, sha256_file
from battkg.errors import StoreError

# Filesystems where a single upload is already all-or-nothing.
_ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"}
_PART = ".part-"


def open_blob_store(location: str | Path, cache: Path) -> BlobStore:
    """The blob store at ``location`` (a directory, ``file://`` URL or any fsspec URL).

    ``cache`` is a local directory for staging and verified read copies of remote blobs.
    """
    text = str(location)
    if "://" not in text:
        return BlobStore(Path(text))
    if text.startswith("file://"):
        return BlobStore(Path(text[len("file://"):]))
    return FsspecBlobStore(text, cache)


class FsspecBlobStore(BlobStore):
    """Immutable, checksummed blobs under an fsspec URL, staged through a local directory."""

    def __init__(self, url: str, cache: Path) -> None:
        import fsspec

        super().__init__(cache)  # local tmp/ for staging, blobs/ as the read cache
        try:
            self.fs, root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise StoreError(f"blob store {url!r}: {exc}") from None
        self.url = url
        self.prefix = root.rstrip("/")
        protocol = self.fs.protocol
        self._atomic_put = bool(set(protocol if isinstance(protocol, (tuple, list)) else [protocol]) & _ATOMIC_PUT)

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}/blobs/sha256/{sha256[:2]}/{sha256}"

    def exists(self, sha256: str) -> bool:
        return bool(self._call("look up", sha256, self.fs.exists, self._key(sha256)))

    def adopt(self, staged: Path, ref: BlobRef | None = None) -> tuple[BlobRef, bool]:
        """Upload a staged file under its checksum; returns (ref, newly_added). The staged file is removed."""
        ref = ref or sha256_file(staged)
        key = self._key(ref.sha256)
        try:
            if self.fs.exists(key):
                return ref, False
            if self._atomic_put:
                self.fs.put_file(str(staged), key)
            else:
                partial = f"{key}{_PART}{uuid.uuid4().hex}"
                self.fs.put_file(str(staged), partial)
                self.fs.mv(partial, key)
            if self.fs.size(key) != ref.size:
                self.fs.rm(key)
                raise StoreError(f"upload of blob {ref.sha256} to {self.url} was incomplete (size differs); removed")
        except OSError as exc:
            raise StoreError(f"cannot upload blob {ref.sha256} to {self.url}: {exc}") from exc
        finally:
            staged.unlink(missing_ok=True)
        return ref, True

    def remove(self, sha256: str) -> None:
        key = self._key(sha256)
        if self._call("look up", sha256, self.fs.exists, key):
            self._call("remove", sha256, self.fs.rm, key)
        super().path_of(sha256).unlink(missing_ok=True)  # the local read copy

    def open_verified(self, sha256: str) -> bytes:
        """The blob's bytes, after checking they still hash to their key."""
        key = self._key(sha256)
        try:
            data = self.fs.cat_file(key)
        except FileNotFoundError:
            raise StoreError(f"blob {sha256} is missing from {self.url}") from None
        except OSError as exc:
            raise StoreError(f"cannot read blob {sha256} from {self.url}: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(f"blob {sha256} in {self.url} is corrupt: its content no longer matches its checksum")
        return data

    def local_path(self, sha256: str) -> Path:
        """A local copy of the blob, downloaded once and verified while downloading."""
        cached = super().path_of(sha256)
        if cached.is_file():
            return cached
        staged = self.staging_path()
        digest = hashlib.sha256()
        try:
            with self.fs.open(self._key(sha256), "rb") as src, open(staged, "wb") as dst:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    dst.write(chunk)
        except FileNotFoundError:
            staged.unlink(missing_ok=True)
            raise StoreError(f"blob {sha256} is missing from {self.url}") from None
        except OSError as exc:
            staged.unlink(missing_ok=True)
            raise StoreError(f"cannot download blob {sha256} from {self.url}: {exc}") from exc
        if digest.hexdigest() != sha256:
            staged.unlink(missing_ok=True)
            raise StoreError(f"blob {sha256} in {self.url} is corrupt: its content no longer matches its checksum")
        cached.parent.mkdir(exist_ok=True)
        os.replace(staged, cached)
        os.chmod(cached, 0o444)
        return cached

    def path_of(self, sha256: str) -> Path:
        """Remote blobs have no local path of their own; this is :meth:`local_path`."""
        return self.local_path(sha256)

    def keys(self) -> Iterator[str]:
        pattern = f"{self.prefix}/blobs/sha256/*/*"
        for path in self._call("list", "*", self.fs.glob, pattern):
            name = str(path).rsplit("/", 1)[-1]
            if _PART not in name:
                yield name

    def garbage_collect(self, referenced: set[str], dry_run: bool = False) -> list[str]:
        """As for the local store, plus partial uploads a crash left behind."""
        removed = super().garbage_collect(referenced, dry_run)
        if not dry_run:
            for path in self._call("list", "*", self.fs.glob, f"{self.prefix}/blobs/sha256/*/*{_PART}*"):
                self._call("remove", str(path), self.fs.rm, path)
        return removed

    def _call(self, verb: str, what: str, function, *args):  # type: ignore[no-untyped-def]
        try:
            return function(*args)
        except OSError as exc:
            raise StoreError(f"cannot {verb} blob {what} in {self.url}: {exc}") from exc
