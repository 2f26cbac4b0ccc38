"""Arbin MITS Pro 8 SQL data exported to HDF5 by pandas/PyTables ("the HDF5 a cycler analysis server writes").

Usage
    ``battkg ingest cycling run.h5`` (format id ``cycling.arbin.sql_h5``); reader option
    ``test_id=N`` reads one test only.

Schema
    A pandas ``HDFStore`` with ``/data_df`` (the channel table: ``Test_ID``, ``Data_Point``,
    ``Date_Time``, ``Test_Time``, ``Step_Time``, ``Cycle_Index``, ``Step_Index``, ``Current``,
    ``Voltage``, ``Power``, capacities, energies, ``Internal_Resistance``, ``Aux_*``),
    ``/info_df`` (one row per test: channel, schedule, start/resume times, mass) and
    ``/stat_df`` (statistics rows with ``Channel_ID`` and ``Test_Name``).  Arbin units and
    signs (s, V, A positive = charging, A·h cumulative per cycle, ``Cycle_Index`` 1-based).
    ``Date_Time`` is an integer count of 100 ns ticks since the Unix epoch.

Several Test_IDs (a restarted test)
    The SQL database gives every start of a schedule a new ``Test_ID`` whose ``Data_Point``
    and ``Test_Time`` restart.  When all Test_IDs of ``data_df`` ran on one channel under one
    test name (``stat_df``), battkg reads all rows, in file order, as one time series; its
    ``time`` is then the first ``Test_Time`` plus the wall-clock time elapsed since the first
    record (from ``Date_Time``), and Arbin's own ``Test_Time`` is kept as the array
    ``arbin_test_time``.  The same applies to a single test whose ``Test_Time`` goes backwards
    (a resume).  Different channels or test names are refused unless ``test_id`` is given.

    cellpy 1.0.3 (``instrument="arbin_sql_h5"``) reads 34 of the sample's 47 rows: it indexes
    the rows on ``Data_Point``, which restarts in each Test_ID, and keeps the first row per
    Data_Point number — Data_Points 1–2 of test 1, 3–11 of test 2 and 12–34 of test 3, a
    mixture of three runs out of time order.  battkg keeps all 47 records (the MANIFEST
    oracle's row count) in wall-clock order; the test in
    ``tests/ingest/test_cycling_arbin.py`` reproduces cellpy's 34 rows and extremes.

Metadata
    ``start_time`` = first ``Date_Time`` (UTC; an epoch count), ``channel`` (``IV_Ch_ID``),
    ``schedule``, ``schedule_version``, ``test_name``;
    ``SpecificMASS`` (g, as cellpy reads it) becomes ``ActiveMass``.  info_df rows and the
    statistics table's shape go to ``raw_metadata``.

Reading without running code from the file
    The file is read with h5py only, never through ``pandas.HDFStore``: PyTables (which HDFStore
    uses) calls :func:`pickle.loads` on every bytes attribute ending in ``.`` and on every row
    of an ``object`` VLARRAY, so opening a crafted ``.h5`` that way runs whatever the file's
    pickles call.  Here the pandas layouts are decoded by hand:

    * ``frame_table`` nodes (``/data_df``, ``/stat_df``): the ``table`` compound dataset
      (``values_block_N`` fields of shape rows × columns, data columns as 1-D fields), the
      column names per block from ``values_block_N_kind``, their dtype from
      ``values_block_N_dtype`` (numbers, booleans and ``bytesN`` text decoded with the node's
      ``encoding``; the ``nan_rep`` text becomes NaN, as pandas does) and the column order from
      ``non_index_axes``.  The row labels (``index``) are not used.
    * ``frame`` (fixed format) nodes (``/info_df``): ``axis0`` (column names), ``axis1`` (row
      labels; only their number is used), ``blockK_items`` and ``blockK_values`` (``transposed``
      says whether the stored array is rows × items or items × rows).

    pandas' own pickles are decoded without Python's full unpickler:

    * attributes (column lists, ``non_index_axes``, ``nan_rep``, ...) with an unpickler whose
      ``find_class`` refuses every name: lists, tuples, dicts, strings, numbers and None need
      none.  A pickle naming any class or function is refused (FormatError naming the file,
      the node and the attribute); nothing in it runs.
    * the object block of ``/info_df`` (schedule file name, schedule version, ...: a pickled
      numpy object array).  Those cells exist nowhere else in the file and give the
      ``schedule``/``schedule_version`` metadata and ``raw_metadata['info']``, so the block is
      read, not skipped.  Its pickle may name only what numpy writes for an object array —
      ``numpy.core.multiarray._reconstruct`` (or ``numpy._core.multiarray._reconstruct``),
      ``numpy.ndarray``, ``numpy.dtype`` and, in protocol-2 pickles, ``_codecs.encode`` — and
      those names resolve to local stand-ins that only check and record their arguments, so no
      numpy (or other) code is handed data from the file.  The recorded state must be an
      object-dtype array of at most two dimensions whose cells are text, numbers or None and
      whose size matches its shape; the array is then built from those plain values.
      Allowing the real numpy names instead would hand numpy's reconstruction code
      attacker-chosen arguments (shapes, dtype specs, states), which the stand-ins avoid.

    Other pandas layouts (MultiIndex, categorical or datetime columns, ``series`` nodes) are
    refused saying so; Arbin SQL exports hold none.

Dependency
    ``h5py`` only (PyTables is not needed to read; the tests use it to write files).

Sample files
    ``shared/samples/cycling/cellpy_20200624_test001_cc_01.h5``.
"""

from __future__ import annotations

import io
import math
import pickle
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ParsedFile, ReaderInfo, ReaderOption

READER = ReaderInfo(
    id="cycling.arbin.sql_h5",
    technique="cycling",
    suffixes=(".h5", ".hdf5"),
    description="Arbin SQL data exported to HDF5 by pandas (data_df, info_df, stat_df)",
    magic=(b"\x89HDF\r\n\x1a\n",),
    priority=30,
    media_type="application/x-hdf5",
    options=(ReaderOption("test_id", int, "Test_ID of the test to read when the file holds several"),),
)

_TICKS_PER_SECOND = 10_000_000  # Arbin SQL Date_Time: 100 ns ticks since 1970-01-01
_FRAMES = ("data_df", "info_df", "stat_df")


# ------------------------------------------------------------------------------------------ pickles


class _Refused(Exception):
    """A pickle asked for something the restricted unpicklers do not give (a class, a function, a state)."""


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles lists, tuples, dicts, sets, strings, bytes, numbers, booleans and None: no name is resolved."""

    def find_class(self, module: str, name: str) -> Any:
        raise _Refused(f"it calls {module}.{name}; only plain lists, text and numbers are accepted")

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused("it refers to a persistent object")


class _NdarrayName:
    """Stand-in for ``numpy.ndarray`` in an object-array pickle: only ``_reconstruct`` accepts it."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise _Refused("it sets a state on numpy.ndarray itself")


class _ObjectDtype:
    """Stand-in for ``numpy.dtype('O')``: records nothing, accepts the state numpy writes for it."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        # numpy writes (3, '|', None, None, None, -1, -1, 63) for 'O8'; any plain tuple is harmless here.
        if not isinstance(state, tuple):
            raise _Refused("the dtype state is not a tuple")


class _ObjectArray:
    """Stand-in for the empty array ``_reconstruct`` makes; ``__setstate__`` records shape and cells."""

    __slots__ = ("shape", "cells")

    def __init__(self) -> None:
        self.shape: tuple[int, ...] | None = None
        self.cells: list[Any] | None = None

    def __setstate__(self, state: Any) -> None:
        # numpy's ndarray state: (version, shape, dtype, is_fortran, cells); numpy < 1.? wrote it without version.
        if isinstance(state, tuple) and len(state) == 5 and state[0] == 1:
            state = state[1:]
        if not (isinstance(state, tuple) and len(state) == 4):
            raise _Refused("the array state is not numpy's (version, shape, dtype, fortran, cells)")
        shape, dtype, fortran, cells = state
        if self.shape is not None:
            raise _Refused("the array state is set twice")
        if not isinstance(dtype, _ObjectDtype) or not isinstance(fortran, bool) or not isinstance(cells, list):
            raise _Refused("the array is not an object array stored as a list of cells")
        if not (isinstance(shape, tuple) and 1 <= len(shape) <= 2
                and all(type(n) is int and n >= 0 for n in shape)):  # noqa: E721 - bool is not a size
            raise _Refused(f"the array shape {shape!r} is not one or two sizes")
        if math.prod(shape) != len(cells):
            raise _Refused(f"the array shape {shape} does not hold its {len(cells)} cells")
        bad = next((c for c in cells if not isinstance(c, (str, bytes, int, float, type(None)))), None)
        if bad is not None:
            raise _Refused(f"a cell is a {type(bad).__name__}, not text, a number or None")
        # numpy lists an object array's cells in C order whatever ``fortran`` says (_getlist_pkl).
        self.shape, self.cells = shape, cells


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> _ObjectArray:
    """Stand-in for ``numpy.core.multiarray._reconstruct``: numpy always writes (ndarray, (0,), b'b')."""
    if not isinstance(subtype, _NdarrayName) or shape != (0,) or typecode not in (b"b", "b"):
        raise _Refused("_reconstruct is called with other arguments than numpy writes for an array")
    return _ObjectArray()


def _dtype(spec: Any, align: Any = False, copy: Any = False) -> _ObjectDtype:
    """Stand-in for ``numpy.dtype``: only the object dtype ('O8', 'O4' on 32-bit builds)."""
    if spec not in ("O8", "O4", b"O8", b"O4"):
        raise _Refused(f"the array dtype {spec!r} is not the object dtype")
    return _ObjectDtype()


def _latin1(text: Any, encoding: Any = "utf-8") -> bytes:
    """Stand-in for ``_codecs.encode``: protocol-2 pickles write bytes as encode(text, 'latin1')."""
    if not isinstance(text, str) or encoding != "latin1":
        raise _Refused("_codecs.encode is called with other arguments than pickle writes for bytes")
    return text.encode("latin1")


class _ObjectArrayUnpickler(_PlainUnpickler):
    """Unpickles a pickled numpy object array into an :class:`_ObjectArray` (see the module docstring)."""

    _NAMES: dict[tuple[str, str], Any] = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): _NdarrayName(),
        ("numpy", "dtype"): _dtype,
        ("_codecs", "encode"): _latin1,
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._NAMES[(module, name)]
        except KeyError:
            raise _Refused(f"it calls {module}.{name}; only numpy's object-array names are accepted") from None


def _object_array(data: bytes) -> np.ndarray:
    """The numpy object array of a pickled pandas object block, decoded with the stand-ins."""
    result = _ObjectArrayUnpickler(io.BytesIO(data)).load()
    if not isinstance(result, _ObjectArray) or result.shape is None or result.cells is None:
        raise _Refused("it is not a pickled numpy object array")
    array = np.empty(len(result.cells), dtype=object)
    array[:] = result.cells  # element-wise: a list of equal-length lists must not become a 2-D array
    return array.reshape(result.shape)


# ------------------------------------------------------------------------------------------ HDF5 nodes


def _fail(path: Path, node: Any, message: str) -> FormatError:
    return FormatError(path, message, field=getattr(node, "name", str(node)), reader=READER.id)


def _attr(path: Path, node: Any, name: str, default: Any = None) -> Any:
    """An attribute as PyTables would give it, but safely.

    Bytes ending in ``.`` are pickles to PyTables; here they are decoded with :class:`_PlainUnpickler`
    (a pickle naming any class is refused, a text that is no pickle stays text).  Other bytes are text.
    """
    import h5py

    if name not in node.attrs:
        return default
    try:
        value = node.attrs[name]
    except (OSError, TypeError, ValueError) as exc:  # an attribute of a type h5py cannot read
        raise _fail(path, node, f"attribute '{name}' cannot be read: {exc}") from None
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, (bytes, np.bytes_)):
        raw = bytes(value)
        if raw.endswith(b".") and raw not in (b"0", b"0."):
            try:
                return _PlainUnpickler(io.BytesIO(raw)).load()
            except _Refused as exc:
                raise _fail(path, node, f"attribute '{name}' holds a pickle battkg will not run: {exc}") from None
            except Exception:  # noqa: BLE001 - not a pickle at all: PyTables keeps such values as text too
                pass
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _fail(path, node, f"attribute '{name}' is neither a pickle nor UTF-8 text") from None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _text_attr(path: Path, node: Any, name: str, default: str | None = None) -> str:
    value = _attr(path, node, name, default)
    if not isinstance(value, str):
        if value is None:
            raise _fail(path, node, f"attribute '{name}' is missing; this is not a pandas HDFStore node")
        raise _fail(path, node, f"attribute '{name}' should be text, not {type(value).__name__} {value!r}")
    return value


def _names_attr(path: Path, node: Any, name: str) -> list[str]:
    """A pickled list of column names (``values_cols``, ``values_block_N_kind``)."""
    value = _attr(path, node, name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, node, f"attribute '{name}' should be a pickled list of column names, not {value!r}")
    return value


def _child(path: Path, group: Any, name: str) -> Any:
    """``group[name]`` when it is a node of its own (None when absent).

    Values outside the file were refused when it was opened (:mod:`battkg.hdf5_input`); a soft link,
    which pandas never writes, would make one node stand in for another, so it is refused too.
    """
    import h5py

    link = group.get(name, getlink=True)
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        raise _fail(path, group, f"'{name}' is an HDF5 {type(link).__name__}; only nodes stored in the file are read")
    return group[name]


def _dataset(path: Path, group: Any, name: str) -> Any:
    import h5py

    node = _child(path, group, name)
    if not isinstance(node, h5py.Dataset):
        raise _fail(path, group, f"no dataset '{name}'; the pandas layout is incomplete")
    return node


def _decode_text(path: Path, node: Any, values: np.ndarray, encoding: str, errors: str,
                 nan_rep: str | None) -> np.ndarray:
    """Fixed-length bytes cells as str (object array), the ``nan_rep`` text as NaN (pandas' rule)."""
    out = np.empty(values.size, dtype=object)
    try:
        out[:] = [bytes(v).decode(encoding, errors) for v in values.ravel()]
    except (UnicodeDecodeError, LookupError) as exc:
        raise _fail(path, node, f"text cells cannot be decoded as {encoding}: {exc}") from None
    if nan_rep is not None:
        out[out == nan_rep] = np.nan
    return out.reshape(values.shape)


def _pandas_keys(h5: Any, path: Path) -> list[str]:
    """The nodes pandas' HDFStore.keys() lists: groups carrying a ``pandas_type`` attribute."""
    import h5py

    keys: list[str] = []

    def visit(name: str, node: Any) -> None:
        if isinstance(node, h5py.Group) and "pandas_type" in node.attrs:
            _text_attr(path, node, "pandas_type")  # a pickle here is refused, naming the attribute
            keys.append("/" + name)

    h5.visititems(visit)
    return sorted(keys)


# ------------------------------------------------------------------------------------------ pandas layouts


def _table_frame(path: Path, group: Any) -> Any:
    """A pandas ``frame_table`` node (``format="table"``) as a DataFrame."""
    import pandas as pd

    table_type = _text_attr(path, group, "table_type")
    if table_type != "appendable_frame":
        raise _fail(path, group, f"table_type {table_type!r} is not read (only 'appendable_frame': a frame with "
                    "a plain row index)")
    levels = _attr(path, group, "levels", 1)
    if levels != 1:
        raise _fail(path, group, f"a MultiIndex table (levels={levels!r}) is not read")
    encoding = _text_attr(path, group, "encoding", "UTF-8")
    errors = _text_attr(path, group, "errors", "strict")
    group_nan_rep = _attr(path, group, "nan_rep")
    table = _dataset(path, group, "table")
    if table.dtype.names is None:
        raise _fail(path, table, "the table is not a compound dataset")
    blocks = _names_attr(path, group, "values_cols")
    axes = _attr(path, group, "non_index_axes")
    if not (isinstance(axes, list) and len(axes) == 1 and isinstance(axes[0], tuple) and len(axes[0]) == 2
            and axes[0][0] == 1 and isinstance(axes[0][1], list) and all(isinstance(c, str) for c in axes[0][1])):
        raise _fail(path, group, f"attribute 'non_index_axes' should be [(1, [column names])], not {axes!r}")
    order: list[str] = axes[0][1]
    rows = table[()]
    columns: dict[str, np.ndarray] = {}
    for block in blocks:
        if block not in table.dtype.names:
            raise _fail(path, table, f"values_cols names {block!r} but the table has fields {list(table.dtype.names)}")
        names = _names_attr(path, table, f"{block}_kind")
        dtype_name = _text_attr(path, table, f"{block}_dtype")
        meta = _attr(path, table, f"{block}_meta")
        if meta not in (None, "str"):  # 'str' marks pandas' string dtype; 'category' keeps codes elsewhere
            raise _fail(path, table, f"{block} (columns {names}) has pandas meta {meta!r}; only plain columns are read")
        values = rows[block]
        values = values[:, None] if values.ndim == 1 else values
        if values.ndim != 2 or values.shape[1] != len(names):
            raise _fail(path, table, f"{block} holds {values.shape[1:]} columns per row but names {len(names)}: "
                        f"{names}")
        if dtype_name.startswith(("bytes", "str")) and values.dtype.kind == "S":
            nan_rep = _attr(path, table, f"{block}_nan_rep", group_nan_rep)
            values = _decode_text(path, table, values, encoding, errors, "nan" if nan_rep is None else str(nan_rep))
        else:
            try:
                dtype = np.dtype(dtype_name)
            except TypeError:
                dtype = None
            if dtype is None or dtype.kind not in "biuf" or values.dtype.kind not in "biuf":
                raise _fail(path, table, f"{block} (columns {names}) has dtype {dtype_name!r}; this reader reads "
                            "number, boolean and text columns only")
            values = values.astype(dtype, copy=False)
        for j, name in enumerate(names):
            columns[name] = values[:, j]
    if sorted(order) != sorted(columns) or len(set(order)) != len(order):
        raise _fail(path, group, f"non_index_axes lists the columns {order} but the table blocks hold "
                    f"{sorted(columns)}")
    return pd.DataFrame({name: columns[name] for name in order})


def _fixed_array(path: Path, node: Any, encoding: str, errors: str) -> np.ndarray:
    """One array of a fixed-format node as pandas wrote it (before ``transposed`` is applied)."""
    if "shape" in node.attrs:  # pandas stores an empty array as a placeholder with its shape and dtype
        shape = _attr(path, node, "shape")
        if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)  # noqa: E721
                and math.prod(shape) == 0):
            raise _fail(path, node, f"attribute 'shape' of an empty array should be sizes with a 0, not {shape!r}")
        return np.empty(shape, dtype=object)
    kind = _text_attr(path, node, "CLASS")
    if kind == "VLARRAY":
        atom = _attr(path, node, "PSEUDOATOM")
        if atom != "object" or node.shape != (1,):
            raise _fail(path, node, f"a VLARRAY of {node.shape} rows with atom {atom!r} is not a pandas object block")
        try:
            return _object_array(np.asarray(node[0]).tobytes())
        except _Refused as exc:
            raise _fail(path, node, f"the object block holds a pickle battkg will not run: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a damaged pickle (truncated, bad opcode)
            raise _fail(path, node, f"the object block is not a readable pickled array: {type(exc).__name__}: "
                        f"{exc}") from None
    if kind != "ARRAY":
        raise _fail(path, node, f"a {kind} node is not an array pandas writes")
    value_type = _attr(path, node, "value_type")
    if value_type is not None:  # datetime64 / timedelta64 blocks
        raise _fail(path, node, f"a block of value_type {value_type!r} is not read (numbers and text only)")
    values = node[()]
    if values.dtype.kind == "S":
        return _decode_text(path, node, values, encoding, errors, None)
    if values.dtype.kind not in "biuf":
        raise _fail(path, node, f"an array of dtype {values.dtype} is not read (numbers and text only)")
    return values


def _labels(path: Path, group: Any, name: str, encoding: str, errors: str) -> list[Any]:
    """Column names (``axis0``, ``blockK_items``) of a fixed-format frame."""
    node = _dataset(path, group, name)
    kind = _text_attr(path, node, "kind")
    if kind not in ("string", "integer"):
        raise _fail(path, node, f"labels of kind {kind!r} are not read (text or integer labels only)")
    values = _fixed_array(path, node, encoding, errors)
    if values.ndim != 1:
        raise _fail(path, node, f"labels should be one-dimensional, not of shape {values.shape}")
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _fixed_frame(path: Path, group: Any) -> Any:
    """A pandas fixed-format ``frame`` node (``format="fixed"``, pandas' default) as a DataFrame."""
    import pandas as pd

    encoding = _text_attr(path, group, "encoding", "UTF-8")
    errors = _text_attr(path, group, "errors", "strict")
    ndim, nblocks = _attr(path, group, "ndim"), _attr(path, group, "nblocks")
    if ndim != 2 or type(nblocks) is not int or nblocks < 0:  # noqa: E721
        raise _fail(path, group, f"a frame of ndim {ndim!r} and nblocks {nblocks!r} is not a 2-D pandas frame")
    for axis in ("axis0", "axis1", *(f"block{i}_items" for i in range(nblocks))):
        variety = _text_attr(path, group, f"{axis}_variety", "regular")
        if variety != "regular":
            raise _fail(path, group, f"{axis} is a {variety!r} index (MultiIndex); only plain labels are read")
    order = _labels(path, group, "axis0", encoding, errors)
    n_rows = len(_labels(path, group, "axis1", encoding, errors))
    columns: dict[Any, np.ndarray] = {}
    for i in range(nblocks):
        items = _labels(path, group, f"block{i}_items", encoding, errors)
        node = _dataset(path, group, f"block{i}_values")
        stored = _fixed_array(path, node, encoding, errors)
        if stored.size == 0:
            values = np.empty((n_rows, len(items)), dtype=stored.dtype)
        elif stored.ndim == 1:  # a one-column block that pandas keeps 1-D (its string dtype, extension arrays)
            values = stored[:, None]
        else:
            # transposed: pandas stored the block's values.T, i.e. rows × items; else items × rows.
            values = stored if bool(_attr(path, node, "transposed", False)) else stored.T
        if values.shape != (n_rows, len(items)):
            raise _fail(path, node, f"a block of shape {stored.shape} does not fit {n_rows} rows × {len(items)} "
                        f"columns {items}")
        for j, item in enumerate(items):
            columns[item] = values[:, j]
    if sorted(map(str, order)) != sorted(map(str, columns)) or len(set(order)) != len(order):
        raise _fail(path, group, f"axis0 lists the columns {order} but the blocks hold {list(columns)}")
    return pd.DataFrame({name: columns[name] for name in order})


def _frames(path: Path) -> dict[str, Any]:
    """The DataFrames of data_df, info_df and stat_df (those present), read with h5py only."""
    from battkg.hdf5_input import open_input_hdf5

    with open_input_hdf5(path, READER.id) as h5:
        try:
            keys = _pandas_keys(h5, path)
        except (OSError, KeyError, ValueError, RuntimeError) as exc:  # a damaged object header or link
            raise FormatError(path, f"cannot list the HDF5 nodes: {type(exc).__name__}: {exc}",
                              reader=READER.id) from None
        if "/data_df" not in keys:
            described = f"keys: {keys}" if keys else f"no pandas nodes; top-level nodes: {sorted(h5)}"
            raise FormatError(path, f"an HDF5 file without /data_df is not an Arbin SQL export; {described}",
                              reader=READER.id)
        frames: dict[str, Any] = {}
        for name in _FRAMES:
            if f"/{name}" not in keys:
                continue
            try:
                group = _child(path, h5, name)
                pandas_type = _text_attr(path, group, "pandas_type")
                if pandas_type == "frame_table":
                    frames[name] = _table_frame(path, group)
                elif pandas_type == "frame":
                    frames[name] = _fixed_frame(path, group)
                else:
                    raise _fail(path, group, f"pandas_type {pandas_type!r} is not read (a 'frame' or 'frame_table' "
                                "is expected)")
            except (OSError, KeyError, ValueError, TypeError) as exc:  # damaged data (h5py) or odd shapes
                raise FormatError(path, f"cannot read the node: {type(exc).__name__}: {exc}", field=f"/{name}",
                                  reader=READER.id) from None
        return frames


def _one_cell(frames: dict[str, Any], test_ids: list[int]) -> bool:
    """All tests on one channel under one test name (a restarted test), per the statistics table."""
    stat = frames.get("stat_df")
    if stat is None or not {"Test_ID", "Channel_ID", "Test_Name"} <= set(stat.columns):
        return len(test_ids) <= 1
    rows = stat[stat["Test_ID"].isin(test_ids)]
    return set(rows["Test_ID"]) == set(test_ids) and rows["Channel_ID"].nunique() == 1 and \
        rows["Test_Name"].nunique() == 1


def read(path: Path, **options: Any) -> ParsedFile:
    """Read an Arbin SQL HDF5 export into one cycling ``timeseries`` block (see the module docstring)."""
    from battkg.ingest.cycling._arbin import active_mass, arbin_parsed, select_test

    path = Path(path)
    frames = _frames(path)
    data = frames["data_df"].reset_index(drop=True)
    if data.empty:
        raise FormatError(path, "data_df holds no data points", field="data_df", reader=READER.id)
    all_ids = sorted(int(v) for v in data["Test_ID"].unique()) if "Test_ID" in data.columns else []
    data, test_ids = select_test(data, path, READER.id, options.get("test_id"),
                                 joinable=_one_cell(frames, all_ids))
    chosen = [int(options["test_id"])] if options.get("test_id") is not None else test_ids

    metadata: dict[str, Any] = {}
    raw: dict[str, Any] = {"test_ids": test_ids, "hdf5_keys": sorted(frames)}
    warnings: list[str] = []
    time = time_description = None
    if "Date_Time" in data.columns:
        ticks = data["Date_Time"].to_numpy(dtype=np.int64)
        metadata["start_time"] = datetime.fromtimestamp(ticks[0] / _TICKS_PER_SECOND, tz=timezone.utc)
        test_time = data["Test_Time"].to_numpy(dtype=np.float64) if "Test_Time" in data.columns else None
        restarted = len(chosen) > 1 or (test_time is not None and bool(np.any(np.diff(test_time) < 0)))
        if restarted:
            back = np.flatnonzero(np.diff(ticks) < 0)
            if back.size:
                raise FormatError(path, f"Date_Time goes backwards at record {back[0] + 2} (Data_Point "
                                  f"{data['Data_Point'].iloc[back[0] + 1]}); cannot order the restarted test",
                                  field="Date_Time", reader=READER.id)
            first = float(test_time[0]) if test_time is not None else 0.0
            time = first + (ticks - ticks[0]) / _TICKS_PER_SECOND
            time_description = ("test time: first Test_Time + wall-clock time since the first record (Date_Time); "
                                "Arbin's Test_Time restarts with each Test_ID / resume")
            warnings.append(f"{len(chosen)} Arbin test(s) (Test_ID {chosen}) with restarting Test_Time read as one "
                            "time series on the Date_Time clock; Arbin's Test_Time is kept as 'arbin_test_time'")
    quantities = []
    info = frames.get("info_df")
    if info is not None and not info.empty:
        raw["info"] = [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                       for row in info.to_dict("records")]
        row = info.iloc[0]
        for key, source in (("channel", "IV_Ch_ID"), ("schedule", "Schedule_File_Name"),
                            ("schedule_version", "Schedule_Version")):
            if source in info.columns and str(row[source]).strip():
                metadata[key] = str(row[source]).strip()
        if "SpecificMASS" in info.columns:
            quantities = active_mass(row["SpecificMASS"], "g")
    stat = frames.get("stat_df")
    if stat is not None and "Test_Name" in stat.columns and not stat.empty:
        names = sorted({str(n) for n in stat.loc[stat["Test_ID"].isin(chosen), "Test_Name"]}) \
            if "Test_ID" in stat.columns else sorted({str(n) for n in stat["Test_Name"]})
        if names:
            metadata["test_name"] = ", ".join(names)
        raw["statistics_rows"] = int(len(stat))
    return arbin_parsed(path, READER.id, data, time=time, time_description=time_description, metadata=metadata,
                        raw_metadata=raw, quantities=quantities, warnings=warnings)
