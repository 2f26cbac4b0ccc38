"""EC-Lab (BioLogic) file -> cycling :class:`ParsedFile`; shared by the .mpr and .mpt readers.

Column mapping (EC-Lab label -> battkg array)
    ``time/s`` -> ``time``; ``Ewe/V`` (else ``<Ewe>/V``) -> ``voltage``: the
    working-electrode potential, which is the cell voltage in a two-electrode
    cell (for a three-electrode cell it is the potential vs. the reference:
    ``Ece/V`` and the .mpt ``Ewe-Ece/V`` stay in the vendor columns);
    ``I/mA`` (else ``<I>/mA``) -> ``current`` in A.  GCPL ``.mpr`` files store
    no current column: the current is then ``dq/(Δt)`` from ``dq/mA.h`` and
    ``time/s``, exactly how EC-Lab computes the ``<I>/mA`` column of its .mpt
    export (0 for the first record).

Current sign
    EC-Lab counts anodic (oxidation) current at the working electrode as
    positive.  With the cell's positive electrode as working electrode this is
    the charging current, so **no sign change** is applied: positive = charging
    (Ewe rising).  For a half cell of an anode material (WE = the material vs.
    Li/Na metal) positive current delithiates the material, which EC-Lab and
    battkg both call charging the cell.

Capacities
    ``Q charge/discharge/mA.h`` is EC-Lab's signed capacity counter, reset at
    every half cycle; ``charge_capacity`` is its positive part and
    ``discharge_capacity`` the magnitude of its negative part, in A*h (as the
    .mpt columns ``Q charge/mA.h`` and ``Q discharge/mA.h``, which are used when
    the signed counter is absent).

Cycle index
    EC-Lab's ``half cycle`` counter is 0-based and its ``cycle number`` is
    ``half cycle // 2`` (Cycle Definition "Charge/Discharge alternance"), so
    ``cycle_index = half_cycle // 2 + 1``.  Without a half-cycle column the
    .mpt ``cycle number`` is used, shifted to 1-based when it starts at 0;
    without either, every record is cycle 1.  ``half_cycle`` (0-based, as
    EC-Lab) and ``step_index`` (EC-Lab's sequence number ``Ns``) are kept.

Kept raw
    Every column not mapped above is listed with its unit in
    ``raw_metadata['unmapped_columns']``; settings (comments, electrode,
    electrolyte, module list, .mpt header pairs) go to ``raw_metadata['settings']``.
"""

from __future__ import annotations

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ParsedFile
from battkg.ingest._eclab import EclabFile
from battkg.ingest.cycling._common import count_cycles, one_based_cycles, split_signed_capacity, timeseries_block

_MAPPED = {"time/s", "Ewe/V", "<Ewe>/V", "I/mA", "<I>/mA", "Q charge/discharge/mA.h", "Q charge/mA.h",
           "Q discharge/mA.h", "half cycle", "cycle number", "Ns"}


def to_parsed(data: EclabFile, format_id: str) -> ParsedFile:
    """Build the cycling ParsedFile of one EC-Lab file."""
    path = data.path
    warnings = list(data.warnings)
    time = data.column("time/s")
    voltage = data.column("Ewe/V", "<Ewe>/V")
    if time is None or voltage is None:
        missing = "time/s" if time is None else "Ewe/V or <Ewe>/V"
        raise FormatError(path, f"no '{missing}' column: not a cycling file (columns: {list(data.columns)})",
                          reader=format_id)
    t = time.values.astype(np.float64, copy=False)  # no 8 MB copy at 10^6 rows when already float64
    current_col = data.column("I/mA", "<I>/mA")
    descriptions: dict[str, str] = {"voltage": f"working-electrode potential ({voltage.label})"}
    if current_col is not None:
        current = current_col.values.astype(np.float64) / 1000.0
        descriptions["current"] = f"{current_col.label} / 1000, positive = charging"
    else:
        dq = data.column("dq/mA.h")
        if dq is None:
            raise FormatError(path, "no current column (I/mA, <I>/mA) and no dq/mA.h to derive it from",
                              reader=format_id)
        dt = np.diff(t)
        current = np.zeros_like(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            current[1:] = np.where(dt > 0, dq.values[1:] * 3.6 / dt, 0.0)  # mA·h/s -> A
        descriptions["current"] = "dq/Δt from dq/mA.h and time/s (as EC-Lab's <I>/mA), positive = charging"
    q_signed = data.column("Q charge/discharge/mA.h")
    charge = discharge = None
    if q_signed is not None:
        charge, discharge = split_signed_capacity(q_signed.values / 1000.0)
    else:
        qc, qd = data.column("Q charge/mA.h"), data.column("Q discharge/mA.h")
        if qc is not None and qd is not None:
            charge, discharge = qc.values / 1000.0, qd.values / 1000.0
    half = data.column("half cycle")
    cyc = data.column("cycle number")
    if half is not None:
        cycle_index = half.values.astype(np.int64) // 2 + 1
    elif cyc is not None:
        cycle_index = one_based_cycles(cyc.values)
    else:
        cycle_index = np.ones(len(t), dtype=np.int64)
    ns = data.column("Ns")
    block = timeseries_block(
        path, format_id, time=t, voltage=voltage.values, current=current, charge_capacity=charge,
        discharge_capacity=discharge, cycle_index=cycle_index,
        half_cycle=half.values if half is not None else None,
        step_index=ns.values if ns is not None else None, descriptions=descriptions,
    )
    metadata = data.file_metadata()
    if data.channel:
        metadata["channel"] = data.channel
    metadata["n_cycles"] = int(count_cycles(cycle_index))  # O(n), not a sort, for the usual rising counter
    return ParsedFile(
        format_id=format_id,
        blocks=[block],
        quantities=data.file_quantities(),
        metadata=metadata,
        raw_metadata=data.raw_metadata(_MAPPED),
        warnings=warnings,
    )
