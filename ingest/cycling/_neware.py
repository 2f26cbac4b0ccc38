"""Shared part of the Neware readers (``.nda`` and ``.ndax``), built on fastnda.

fastnda (PyPI, BSD-3, maintained by Empa) decodes both Neware binary formats into one polars
DataFrame; NewareNDA is the other maintained reader and agrees on every sample except one
record of ``21_10_7_85.ndax`` (MANIFEST cross-check), where fastnda matches the vendor count.
"""

from __future__ import annotations

import warnings as _warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ParsedFile, ScalarQuantity

_REQUIRED = ("voltage_V", "current_mA", "total_time_s", "capacity_mAh")


def read_neware(path: Path, reader: str) -> ParsedFile:
    """Read a Neware ``.nda``/``.ndax`` file into the cycling ``timeseries`` block.

    Units: fastnda gives mA and mA·h; they become A and A·h.  Neware counts charging current as
    positive (battkg's convention), and its one signed capacity counter resets at every step, so
    it splits into charge and discharge capacity like EC-Lab's.  ``cycle_count`` (fastnda's
    default ``cycle_mode='chg'``: a new cycle at a charge following a discharge) is 1-based.
    """
    import fastnda

    from battkg.ingest.cycling._common import split_signed_capacity, timeseries_block

    try:
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            frame = fastnda.read(str(path))
    except Exception as exc:  # noqa: BLE001 - fastnda raises assorted errors for corrupt files
        raise FormatError(path, f"fastnda cannot decode this Neware file: {type(exc).__name__}: {exc}",
                          reader=reader) from None
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise FormatError(path, f"the decoded Neware data lacks {', '.join(missing)}", reader=reader)
    if frame.height == 0:
        raise FormatError(path, "the file holds no data records", reader=reader)

    def column(name: str, dtype: Any = np.float64) -> np.ndarray:
        return frame[name].to_numpy().astype(dtype)

    charge, discharge = split_signed_capacity(column("capacity_mAh") / 1000.0)
    temperature = column("aux_temperature_degC") if "aux_temperature_degC" in frame.columns else None
    block = timeseries_block(
        path, reader,
        time=column("total_time_s"), voltage=column("voltage_V"), current=column("current_mA") / 1000.0,
        charge_capacity=charge, discharge_capacity=discharge,
        cycle_index=column("cycle_count", np.int64) if "cycle_count" in frame.columns else None,
        step_index=column("step_count", np.int64) if "step_count" in frame.columns else None,
        temperature=temperature, temperature_unit="degC",
        descriptions={"temperature": "auxiliary temperature channel 1"} if temperature is not None else None,
    )
    metadata: dict[str, Any] = {"instrument": "Neware"}
    if "cycle_count" in frame.columns:
        metadata["n_cycles"] = int(frame["cycle_count"].n_unique())
    if "unix_time_s" in frame.columns:
        metadata["start_time"] = datetime.fromtimestamp(float(frame["unix_time_s"][0]), tz=timezone.utc)
    raw: dict[str, Any] = {"columns": list(frame.columns)}
    if "step_type" in frame.columns:
        raw["step_types"] = sorted(str(v) for v in frame["step_type"].unique().to_list())
    quantities: list[ScalarQuantity] = []
    try:
        with _warnings.catch_warnings(record=True):
            _warnings.simplefilter("always")
            header = fastnda.read_metadata(str(path))
        raw["header"] = header
        mass = header.get("active_mass_mg") if isinstance(header, dict) else None
        if isinstance(mass, (int, float)) and mass > 0:
            quantities.append(ScalarQuantity("ActiveMass", float(mass), "mg"))
    except Exception as exc:  # noqa: BLE001 - the header is optional; the data were read
        raw["header_error"] = f"{type(exc).__name__}: {exc}"
    notes = [f"fastnda: {w.message}" for w in caught]
    return ParsedFile(format_id=reader, blocks=[block], quantities=quantities, metadata=metadata,
                      raw_metadata=raw, warnings=notes)
