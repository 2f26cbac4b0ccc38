"""Assembly of FTIR ParsedFiles shared by the FTIR reader modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.spectra.common import Ordinate, check_spectrum, ordinate_array, to_wavenumber
from battkg.readers import ArrayData, Block


def wavenumber_axis(path: Path, x: np.ndarray, unit: str | None, source: str, reader: str,
                    warnings: list[str], metadata: dict[str, Any]) -> np.ndarray:
    """Return the abscissa in 1/cm; µm and nm are converted (noted), anything else is an error."""
    if unit not in ("1/cm", "micrometer", "nanometer"):
        raise FormatError(path, f"abscissa unit {unit!r} ({source}) is not wavenumber, micrometre or nanometre",
                          field=source, reader=reader)
    try:
        converted, note = to_wavenumber(x, unit)
    except ValueError as exc:
        raise FormatError(path, str(exc), field=source, reader=reader) from None
    if note:
        warnings.append(note)
        metadata["abscissa_converted_from"] = unit
    return converted


def spectrum_block(path: Path, name: str, wavenumber: np.ndarray, y: np.ndarray, ordinate: Ordinate,
                   reader: str, metadata: dict[str, Any] | None = None) -> Block:
    """One FTIR block: ``wavenumber`` plus the ordinate array."""
    check_spectrum(path, wavenumber, y, reader)
    block_meta = {"ordinate": ordinate.ordinate, "ordinate_source": ordinate.source}
    block_meta.update(metadata or {})
    return Block(
        name,
        arrays=[ArrayData("wavenumber", np.asarray(wavenumber, dtype=np.float64), "Wavenumber", "1/cm",
                          "IR wavenumber"),
                ordinate_array(np.asarray(y, dtype=np.float64), ordinate)],
        metadata=block_meta,
    )


def file_metadata(ordinate: Ordinate, warnings: list[str]) -> dict[str, Any]:
    """File-level ``ordinate``/``ordinate_source`` and the ordinate warning, if any."""
    if ordinate.warning:
        warnings.append(ordinate.warning)
    return {"ordinate": ordinate.ordinate, "ordinate_source": ordinate.source}
