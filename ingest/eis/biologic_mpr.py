"""BioLogic EC-Lab ``.mpr`` impedance files (PEIS, GEIS): a thin layer over :mod:`battkg.ingest._eclab`.

Usage
    ``battkg ingest eis spectrum.mpr`` (format id ``eis.biologic.mpr``)

Schema
    One block per spectrum (EC-Lab ``cycle number``, 1-based in impedance
    files), named ``spectrum_<n>``, with the five arrays of
    :mod:`battkg.ingest.eis._common`: ``frequency`` (``freq/Hz``),
    ``real_impedance`` (``Re(Z)/Ohm``), ``negative_imaginary_impedance``
    (``-Im(Z)/Ohm``, the sign EC-Lab records), ``impedance_modulus``
    (``|Z|/Ohm``), ``impedance_phase`` (``Phase(Z)/deg``); then ``time``,
    ``voltage`` (``<Ewe>/V``) and ``current`` (``<I>/mA`` / 1000, A; EC-Lab
    sign: anodic positive).  Every other column (counter-electrode impedance,
    Cs/Cp, quality indicators THD/NSD/NSR, harmonics) is listed in
    ``raw_metadata['unmapped_columns']``.

Metadata
    technique (PEIS or GEIS), start_time, software_version, instrument as in
    the cycling reader.

Known gaps
    EC-Lab's .mpt export writes -1/0 for the quality indicators above 100 kHz
    where the .mpr holds the instrument's numbers; they are not mapped anyway.

Sample files
    ``shared/samples/eis/eclab_*.mpr`` (EC-Lab 11.33 and 11.50).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo

if TYPE_CHECKING:
    from battkg.ingest._eclab import EclabFile

READER = ReaderInfo(
    id="eis.biologic.mpr",
    technique="eis",
    suffixes=(".mpr",),
    description="BioLogic EC-Lab binary impedance file (.mpr, PEIS/GEIS)",
    magic=(b"BIO-LOGIC MODULAR FILE",),
    priority=10,
)

# Arrays beside the five spectrum arrays: (name, EC-Lab labels, quantity, unit, factor).
_EXTRA_ARRAYS = (
    ("time", ("time/s",), "Time", "s", 1.0),
    ("voltage", ("<Ewe>/V", "Ewe/V"), "CellVoltage", "V", 1.0),
    ("current", ("<I>/mA", "I/mA"), "CellCurrent", "A", 1e-3),
)


def to_parsed(data: EclabFile, format_id: str) -> ParsedFile:
    """Build the EIS ParsedFile (one block per spectrum) of one EC-Lab file."""
    from battkg.errors import FormatError

    if data.column("freq/Hz") is None or data.column("Re(Z)/Ohm") is None:
        raise FormatError(data.path, "no 'freq/Hz' / 'Re(Z)/Ohm' columns: not an impedance file "
                          f"(technique {data.technique or 'unknown'}); read it as cycling data",
                          reader=format_id)
    cycle_col = data.column("cycle number")
    cycles = (cycle_col.values.astype(np.int64) if cycle_col is not None
              else np.ones(data.n_points, dtype=np.int64))
    from battkg.ingest.eis._common import spectrum_arrays

    blocks: list[Block] = []
    spectrum_labels = ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "|Z|/Ohm", "Phase(Z)/deg")
    used: set[str] = {"cycle number", *spectrum_labels}
    columns = {label: data.column(label) for label in spectrum_labels}
    for cycle in np.unique(cycles):
        mask = cycles == cycle
        modulus, phase = columns["|Z|/Ohm"], columns["Phase(Z)/deg"]
        arrays = spectrum_arrays(
            data.path, format_id, columns["freq/Hz"].values[mask], columns["Re(Z)/Ohm"].values[mask],
            columns["-Im(Z)/Ohm"].values[mask],  # EC-Lab records -Im(Z): taken as is
            modulus=modulus.values[mask] if modulus is not None else None,
            phase=phase.values[mask] if phase is not None else None)
        for name, labels, quantity, unit, factor in _EXTRA_ARRAYS:
            column = data.column(*labels)
            if column is None:
                continue
            used.add(column.label)
            arrays.append(ArrayData(name, column.values[mask].astype(np.float64) * factor, quantity, unit,
                                    f"EC-Lab {column.label}" + (" / 1000" if factor != 1.0 else "")))
        blocks.append(Block(f"spectrum_{int(cycle)}", arrays=arrays, metadata={"cycle_number": int(cycle)}))
    return ParsedFile(format_id=format_id, blocks=blocks, quantities=data.file_quantities(),
                      metadata=data.file_metadata(), raw_metadata=data.raw_metadata(used),
                      warnings=list(data.warnings))


def read(path: Path, **options: object) -> ParsedFile:
    """Read an EC-Lab .mpr impedance file."""
    from battkg.ingest._eclab import read_mpr

    return to_parsed(read_mpr(Path(path), reader=READER.id), READER.id)
