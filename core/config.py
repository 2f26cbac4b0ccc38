"""Where battkg keeps its data.

One directory holds everything of a local installation::

    <store>/graph/      the Oxigraph database (named graph per record)
    <store>/blobs/      content-addressed raw files and per-record HDF5 files
    <store>/tmp/        staging area for blobs being written (same filesystem → atomic rename)

The directory comes from ``--store``, else ``$BATTKG_STORE``, else
``$XDG_DATA_HOME/battkg`` (``~/.local/share/battkg``).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_STORE = "BATTKG_STORE"
# Blob store location (directory or fsspec URL); defaults to the store directory,
# or for a remote graph store (sparql+http://...) to a local directory per server.
ENV_BLOBS = "BATTKG_BLOBS"


def default_store_location() -> str:
    """The store location used when none is given."""
    env = os.environ.get(ENV_STORE)
    if env:
        return env
    return str(data_home() / "battkg")


def default_blob_location() -> str | None:
    """The blob store location from the environment, if set."""
    return os.environ.get(ENV_BLOBS) or None


def data_home() -> Path:
    """``$XDG_DATA_HOME`` (``~/.local/share``)."""
    return Path(os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share"))
