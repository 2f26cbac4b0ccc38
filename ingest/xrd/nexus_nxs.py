"""NeXus/HDF5 1-D diffraction pattern (``.nxs``, ``.nx``, ``.h5``, ``.hdf5``), e.g. NXxrd / NXxrd_pan.

Usage
    ``battkg ingest xrd pattern.nxs`` (format id ``xrd.nexus.nxs``).
    Detected by the HDF5 signature ``\\x89HDF\\r\\n\\x1a\\n`` at byte 0 (files
    with a user block are found by suffix).  Needs ``h5py`` (imported inside
    :func:`read`).

Schema
    The plottable NXdata is found the NeXus way: the ``default`` attribute
    chain from the root (root -> NXentry -> [NXsubentry ->] NXdata), else the
    first NXdata (breadth-first) of the first NXentry that has a 1-D signal
    with a 2θ axis.  In the NXdata, the signal is the ``signal`` attribute
    (legacy: the dataset with ``signal=1``) and the axis is ``axes[0]``
    (legacy: the signal's ``axes`` attribute).  One :class:`Block`
    (named after the NXdata path):

    * ``two_theta`` (TwoTheta, degree): the axis; its name must read as 2θ
      (``two_theta``, ``2theta``, ``tth``, ...); ``rad`` is converted; a
      missing unit is taken as degrees only when some value exceeds 2π
      (then it cannot be radians), with a warning, else FormatError;
    * ``intensity`` (DiffractionIntensity): the signal; ``units``
      ``counts``/``cts`` -> count, ``cps``/``counts/s`` -> count/s; without
      a ``units`` attribute it is taken as count and a warning says so;
    * ``intensity_uncertainty``: the ``errors`` or ``<signal>_errors``
      dataset of the NXdata, when present.

Metadata
    Found anywhere below the entry by dataset name: ``k_alpha_one``/
    ``kalpha1`` (Kα1), ``k_alpha_two`` (Kα2), ``kbeta``/``k_beta`` (Kβ),
    ``wavelength``/``incident_wavelength`` (``Wavelength`` without a line
    label: a synchrotron wavelength is not Kα1), each only with a length
    unit (a value without a unit is skipped with a warning);
    ``ratio_k_alphatwo_k_alphaone`` (``KAlphaRatio``),
    ``xray_tube_voltage``/``current`` (``GeneratorVoltage`` kV,
    ``GeneratorCurrent`` mA), ``count_time`` (``CountingTime`` s, when
    scalar), ``xray_tube_material`` (``anode``, ``radiation``),
    ``scan_axis``, ``scan_mode`` (only continuous/step), NXentry
    ``start_time``/``end_time``, NXsample ``name`` (``sample_name``), NXuser
    ``name`` (``operator``), NXinstrument ``name`` (``instrument``),
    ``title`` (``comment``).  ``raw_metadata``: every attribute, and every
    dataset of at most 16 elements, by HDF5 path.

Known gaps
    2-D signals (stacks of patterns, area-detector images) raise
    :class:`FormatError`; only the first NXentry's plottable pattern is
    read.  The NXxrd_pan ``kbeta`` written by pynxtools has an empty unit
    and is therefore skipped (warning).

Sample files
    ``shared/samples/xrd/pynxtools_xrdml_918-16_10_ref.nxs`` (written by
    pynxtools-xrd from ``fairmat_XRD-918-16_10.xrdml``; the two readers give
    the same pattern).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.xrd._common import parse_timestamp, pattern_block, radiation_label, to_angstrom
from battkg.readers import ParsedFile, ReaderInfo, ScalarQuantity

READER = ReaderInfo(
    id="xrd.nexus.nxs",
    technique="xrd",
    suffixes=(".nxs", ".nx", ".nx5", ".h5", ".hdf5"),
    description="NeXus/HDF5 1-D 2θ pattern (NXdata signal + two_theta axis)",
    magic=(b"\x89HDF\r\n\x1a\n",),
    priority=30,
    media_type="application/x-hdf5",
)

_TWO_THETA_NAME = re.compile(r"^(two_?theta|2_?theta|tth|twotheta|2θ)(_deg)?$", re.IGNORECASE)
_DEGREE = {"deg", "degree", "degrees", "°"}
_RADIAN = {"rad", "radian", "radians"}
_COUNTS = {"counts": "count", "count": "count", "cts": "count", "cps": "count/s", "counts/s": "count/s",
           "count/s": "count/s", "counts per second": "count/s"}
_WAVELENGTHS = {"k_alpha_one": "Kα1", "kalpha1": "Kα1", "k_alpha1": "Kα1", "k_alpha_two": "Kα2", "kalpha2": "Kα2",
                "k_alpha2": "Kα2", "kbeta": "Kβ", "k_beta": "Kβ", "wavelength": None, "incident_wavelength": None}
_RAW_MAX_ELEMENTS = 16


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return _text(value.reshape(-1)[0])
    return str(value)


def _attr(obj: Any, name: str) -> str | None:
    value = obj.attrs.get(name)
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.size > 1:
        return None
    return _text(value).strip()


def _nx_class(obj: Any) -> str:
    return _attr(obj, "NX_class") or ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _jsonable(value.item())
        return [_jsonable(v) for v in value.tolist()] if value.dtype.kind in "SOU" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class _File:
    """The open HDF5 file plus the error context of this read."""

    def __init__(self, h5: Any, h5py: Any, path: Path) -> None:
        self.h5 = h5
        self.h5py = h5py
        self.path = path

    def is_group(self, obj: Any) -> bool:
        return isinstance(obj, self.h5py.Group)

    def is_dataset(self, obj: Any) -> bool:
        return isinstance(obj, self.h5py.Dataset)

    def values(self, dataset: Any) -> np.ndarray:
        try:
            return np.asarray(dataset[()])
        except (OSError, ValueError, TypeError) as exc:
            raise FormatError(self.path, f"dataset cannot be read ({exc}); truncated or corrupt file?",
                              field=dataset.name, reader=READER.id) from None


def _default_chain(f: _File) -> Any | None:
    """Follow ``default`` attributes from the root down to an NXdata group."""
    node = f.h5
    for _ in range(8):  # root -> entry -> subentry -> data at most, with margin
        if _nx_class(node) == "NXdata":
            return node
        name = _attr(node, "default")
        if not name or name not in node or not f.is_group(node[name]):
            return None
        node = node[name]
    return None


def _candidates(f: _File) -> list[Any]:
    """NXdata groups, the default chain first, then breadth-first in each NXentry."""
    found: list[Any] = []
    chained = _default_chain(f)
    if chained is not None:
        found.append(chained)
    entries = [f.h5[k] for k in f.h5 if f.is_group(f.h5[k]) and _nx_class(f.h5[k]) in ("NXentry", "")]
    for entry in entries:
        queue = [entry]
        while queue:
            group = queue.pop(0)
            for key in group:
                child = group.get(key)
                if child is not None and f.is_group(child):
                    if _nx_class(child) == "NXdata" and all(child.name != g.name for g in found):
                        found.append(child)
                    queue.append(child)
    return found


def _signal_and_axis(f: _File, group: Any) -> tuple[Any, Any] | str:
    """(signal, axis) datasets of an NXdata, or the reason it is not a 1-D 2θ pattern."""
    signal_name = _attr(group, "signal")
    signal = group.get(signal_name) if signal_name else None
    if signal is None:  # NeXus legacy: the dataset with signal=1
        signal = next((group[k] for k in group if f.is_dataset(group[k]) and _attr(group[k], "signal") == "1"), None)
    if signal is None or not f.is_dataset(signal):
        return "no signal dataset"
    if signal.ndim != 1:
        return f"signal '{signal.name}' has {signal.ndim} dimensions (shape {signal.shape}); only 1-D patterns are read"
    axes = group.attrs.get("axes")
    if axes is None:
        axes = signal.attrs.get("axes")  # legacy "a:b" string on the signal
    names: list[str] = []
    if isinstance(axes, (bytes, str, np.bytes_, np.str_)):
        names = re.split(r"[:,\s]+", _text(axes).strip())
    elif isinstance(axes, np.ndarray):
        names = [_text(a) for a in axes.reshape(-1)]
    names = [n for n in names if n and n != "."]
    if not names:
        twin = [k for k in group if _TWO_THETA_NAME.match(k) and f.is_dataset(group[k])]
        names = twin[:1]
    if not names or names[0] not in group:
        return "no axis dataset"
    if not _TWO_THETA_NAME.match(names[0]):
        return f"axis '{names[0]}' is not 2θ"
    return signal, group[names[0]]


def _quantity_from(f: _File, dataset: Any, warnings: list[str]) -> tuple[float, str] | None:
    """A scalar dataset's value and unit, or None when it is not a finite scalar number."""
    if dataset.size != 1 or dataset.dtype.kind not in "fiu":
        return None
    value = float(f.values(dataset).reshape(-1)[0])
    if not math.isfinite(value):
        return None
    return value, (_attr(dataset, "units") or "")


def _scan_metadata(f: _File, entry: Any, metadata: dict[str, Any], quantities: list[ScalarQuantity],
                   block_meta: dict[str, Any], block_q: list[ScalarQuantity], warnings: list[str]) -> None:
    seen_labels: set[str | None] = set()

    def visit(name: str, obj: Any) -> None:
        if not f.is_dataset(obj):
            return
        key = name.rsplit("/", 1)[-1].lower()
        parent = _nx_class(obj.parent)
        if key in _WAVELENGTHS:
            got = _quantity_from(f, obj, warnings)
            if got is None:
                return
            label = _WAVELENGTHS[key]
            if label in seen_labels:
                return
            value = to_angstrom(got[0], got[1] or None)
            if value is None:
                warnings.append(f"{obj.name}: wavelength {got[0]} has unit {got[1]!r}, not a length; skipped")
                return
            seen_labels.add(label)
            if value > 0:
                quantities.append(ScalarQuantity("Wavelength", value, "angstrom", label))
        elif key == "ratio_k_alphatwo_k_alphaone":
            got = _quantity_from(f, obj, warnings)
            if got is not None:
                quantities.append(ScalarQuantity("KAlphaRatio", got[0], "dimensionless", "Kα2/Kα1"))
        elif key in ("xray_tube_voltage", "xray_tube_current"):
            got = _quantity_from(f, obj, warnings)
            if got is None:
                return
            quantity, unit, scales = (("GeneratorVoltage", "kV", {"kV": 1.0, "V": 1e-3}) if key.endswith("voltage")
                                      else ("GeneratorCurrent", "mA", {"mA": 1.0, "A": 1e3}))
            if got[1] not in scales:
                warnings.append(f"{obj.name}: unit {got[1]!r} not understood; skipped")
                return
            quantities.append(ScalarQuantity(quantity, got[0] * scales[got[1]], unit))
        elif key == "count_time":
            got = _quantity_from(f, obj, warnings)
            if got is not None and got[1] in ("s", "second", "seconds"):
                block_q.append(ScalarQuantity("CountingTime", got[0], "s"))
        elif key == "xray_tube_material":
            anode = _text(f.values(obj)).strip()
            if anode:
                metadata["anode"] = anode
                metadata["radiation"] = radiation_label(anode)
        elif key == "scan_axis":
            block_meta["scan_axis"] = _text(f.values(obj)).strip()
        elif key == "scan_mode":
            mode = _text(f.values(obj)).strip().lower()
            if mode in ("continuous", "step"):
                block_meta["scan_mode"] = mode
        elif key == "name" and parent in ("NXsample", "NXuser", "NXinstrument"):
            target = {"NXsample": "sample_name", "NXuser": "operator", "NXinstrument": "instrument"}[parent]
            value = _text(f.values(obj)).strip()
            if value:
                metadata.setdefault(target, value)

    entry.visititems(visit)
    for key in ("start_time", "end_time"):
        if key in entry and f.is_dataset(entry[key]):
            stamp = parse_timestamp(_text(f.values(entry[key])), entry[key].name, warnings)
            if stamp is not None:
                metadata[key] = stamp
    if "title" in entry and f.is_dataset(entry["title"]):
        title = _text(f.values(entry["title"])).strip()
        if title:
            metadata["comment"] = title


def _raw(f: _File) -> dict[str, Any]:
    raw: dict[str, Any] = {f"/@{k}": _jsonable(v) for k, v in f.h5.attrs.items()}

    def visit(name: str, obj: Any) -> None:
        for key, value in obj.attrs.items():
            raw[f"/{name}@{key}"] = _jsonable(value)
        if f.is_dataset(obj):
            if obj.size <= _RAW_MAX_ELEMENTS:
                raw[f"/{name}"] = _jsonable(f.values(obj))
            else:
                raw[f"/{name}"] = f"<array {obj.dtype} {obj.shape}>"

    f.h5.visititems(visit)
    return raw


def read(path: Path, **options: object) -> ParsedFile:
    """Read the plottable 1-D 2θ pattern of a NeXus file into one block."""
    import h5py  # heavy: only when a NeXus file is read

    from battkg.hdf5_input import open_input_hdf5

    path = Path(path)
    with open_input_hdf5(path, READER.id) as h5:
        f = _File(h5, h5py, path)
        warnings: list[str] = []
        reasons: list[str] = []
        chosen = None
        for group in _candidates(f):
            result = _signal_and_axis(f, group)
            if isinstance(result, str):
                reasons.append(f"{group.name}: {result}")
                continue
            chosen = (group, *result)
            break
        if chosen is None:
            detail = "; ".join(reasons) if reasons else "no NXdata group"
            raise FormatError(path, f"no NXdata with a 1-D signal over a 2θ axis ({detail})", reader=READER.id)
        group, signal, axis = chosen
        for dataset, label in ((axis, "2θ axis"), (signal, "signal")):
            if dataset.dtype.kind not in "fiu":
                raise FormatError(path, f"{label} holds non-numeric data (dtype {dataset.dtype})", field=dataset.name,
                                  reader=READER.id)
        two_theta = f.values(axis).astype(np.float64)
        intensity = f.values(signal).astype(np.float64)
        axis_unit = (_attr(axis, "units") or "").lower()
        if axis_unit in _RADIAN:
            two_theta = np.degrees(two_theta)
        elif axis_unit not in _DEGREE:
            if axis_unit or not np.any(np.abs(two_theta) > 2 * math.pi):
                raise FormatError(path, f"2θ axis unit {axis_unit!r} is neither degrees nor radians",
                                  field=f"{axis.name}@units", reader=READER.id)
            warnings.append(f"{axis.name} has no units; taken as degrees (values above 2π cannot be radians)")
        unit_text = _attr(signal, "units")
        if unit_text is None or not unit_text:
            unit = "count"
            warnings.append(f"{signal.name} has no units; intensity taken as counts")
        else:
            unit = _COUNTS.get(unit_text.lower())
            if unit is None:
                raise FormatError(path, f"intensity unit {unit_text!r} is not counts or counts/s",
                                  field=f"{signal.name}@units", reader=READER.id)
        errors = group.get("errors") or group.get(f"{signal.name.rsplit('/', 1)[-1]}_errors")
        uncertainty = f.values(errors).astype(np.float64) if errors is not None and f.is_dataset(errors) else None
        metadata: dict[str, Any] = {}
        quantities: list[ScalarQuantity] = []
        block_meta: dict[str, Any] = {"nxdata": group.name}
        block_q: list[ScalarQuantity] = []
        entry = group
        while entry.name != "/" and _nx_class(entry) != "NXentry":
            entry = entry.parent
        _scan_metadata(f, entry if entry.name != "/" else h5, metadata, quantities, block_meta, block_q, warnings)
        block = pattern_block(path, READER.id, group.name.strip("/").replace("/", "_") or "data", two_theta,
                              intensity, unit, uncertainty=uncertainty, metadata=block_meta, quantities=block_q,
                              field=signal.name)
        raw = _raw(f)
    return ParsedFile(format_id=READER.id, blocks=[block], quantities=quantities, metadata=metadata,
                      raw_metadata=raw, warnings=warnings)
