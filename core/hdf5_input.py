"""Opening an HDF5 file somebody else wrote (an instrument file, an upload) for reading.

HDF5 can keep a dataset's values outside the file: external links to other files, external raw
storage (any path on the reading machine) and virtual datasets.  A reader that follows them reads
whatever files the writer named (``/etc/passwd`` as "external storage") and battkg would store
their content in a record.  Input files are therefore read only when every value lives inside the
file; links inside the file (NeXus uses soft links for its default plot) are fine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from battkg.errors import FormatError


def open_input_hdf5(path: Path, reader_id: str) -> Any:
    """``h5py.File(path, "r")`` after checking that no value is stored outside the file.

    FormatError (naming the file, the node and the rule) for a file h5py cannot open or one with an
    external link, external storage or a virtual dataset.  The caller closes the file (``with``).
    """
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FormatError(path, f"not a readable HDF5 file (truncated or corrupt?): {detail}", reader=reader_id) from None
    try:
        refuse_values_outside(h5, Path(path), reader_id)
    except BaseException:
        h5.close()
        raise
    return h5


def refuse_values_outside(h5: Any, path: Path, reader_id: str) -> None:
    """Raise FormatError when any dataset of the open file ``h5`` takes its values from elsewhere."""
    import h5py

    # h5py cannot pass an exception out of its visit callback: the first problem stops the walk as its result.
    def visit(name: str, link: Any) -> FormatError | None:
        where = "/" + name
        if isinstance(link, h5py.ExternalLink):
            return FormatError(path, f"an external link to {link.filename!r} ({link.path}); only values stored in "
                               "the file are read", field=where, reader=reader_id)
        if not isinstance(link, h5py.HardLink):
            return None  # a soft link points inside this file; its target is visited through its own hard link
        node = h5.get(name)
        if isinstance(node, h5py.Dataset) and (node.external or node.is_virtual):
            kind = "a virtual dataset" if node.is_virtual else "external raw storage"
            return FormatError(path, f"the dataset's values are in {kind} outside the file; only values stored in "
                               "the file are read", field=where, reader=reader_id)
        return None

    problem = h5.visititems_links(visit)
    if problem is not None:
        raise problem
