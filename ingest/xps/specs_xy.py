"""SPECS SpecsLab Prodigy ``.xy`` export (several regions, ``#`` metadata).

Usage
    ``battkg ingest xps MgFe2O4.xy`` (format id ``xps.specs.xy``).  Detected by
    content: a first line ``# Created by: SpecsLab Prodigy``.

Schema
    ``#`` comment lines carry ``Key: value`` metadata; the export settings come
    first (``Energy Axis``, ``Count Rate``, ``Separate Scan Data`` …).  Each
    region starts with ``# Region:``; ``# Cycle: c, Curve: k, Scan: s`` opens a
    data chunk whose rows are ``energy intensity``.  One Block per data chunk,
    named by the region (plus `` (cycle c, curve k, scan s)`` when a region has
    several chunks, i.e. "Separate Scan Data"/"Separate Channel Data" exports).

    Energy: binding energy when the export setting ``Energy Axis`` is "Binding
    Energy", kinetic otherwise; the other axis from ``Excitation Energy``
    (BE = hν − KE; the work function is not subtracted).  ``intensity`` in
    ``count/s`` when ``Count Rate: Counts per Second`` (Prodigy has then
    already divided by dwell time and scans), ``count`` when ``Count Rate:
    Counts``; any other setting is a FormatError.  Rows must number
    ``Values/Curve``.  Extra columns (external channels, transmission, error
    bars) are refused: only two-column exports are read.

Metadata
    File: ``technique`` (``Analysis Method`` of the regions: XPS, UPS, AES …;
    "mixed" plus ``techniques`` if they differ), ``sample_name`` (the first
    ``Group``), ``software`` (the "Created by" line), ``start_time`` (first
    region's ``Acquisition Date``; timezone-aware when it ends in "UTC").  Per
    block: the ``_common`` keys with ``analyser`` (``Analyzer``),
    ``analyser_mode`` (``Scan Mode``), ``lens_mode`` (``Analyzer Lens``),
    ``n_scans`` (``Number of Scans``), ``group``, ``start_time``; quantities
    ExcitationEnergy, PassEnergy, DwellTime (s), NumberOfScans, WorkFunction
    (``Eff. Workfunction``).  Every ``#`` key of the region verbatim in ``raw``.

Known gaps
    Exports with more than two columns, and with non-energy abscissae
    (e.g. time or photon energy scans), are refused.

Sample files
    ``shared/samples/xps/pynxtools_specs_MgFe2O4_small.xy`` (two regions,
    Survey and Fe 2p; the same Survey as ``pynxtools_regular.vms``).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from battkg.errors import FormatError
from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo
from battkg.textdata import read_numeric_table, read_text

from battkg.ingest.xps import _common


def _sniff(head: bytes) -> bool:
    first = head[:200].decode("latin-1", errors="replace").lstrip("\ufeff").split("\n", 1)[0]
    return first.startswith("# Created by:") and "SpecsLab Prodigy" in first


READER = ReaderInfo(
    id="xps.specs.xy",
    technique="xps",
    suffixes=(".xy",),
    description="SPECS SpecsLab Prodigy .xy export with one or more regions",
    sniff=_sniff,
    priority=20,
)

_KEY_VALUE = re.compile(r"^#\s*([^:]+?):\s*(.*?)\s*$")
_CHUNK = re.compile(r"^#\s*Cycle:\s*(\d+),\s*Curve:\s*(\d+)(?:,\s*Scan:\s*(\d+))?")


def _fail(path: Path, message: str, **kw: Any) -> FormatError:
    return FormatError(path, message, reader=READER.id, **kw)


def _float(path: Path, keys: dict[str, str], key: str, where: str, line: int | None) -> float | None:
    value = keys.get(key)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError:
        raise _fail(path, f"{where}: '{key}' is not a number: {value!r}", line=line, field=key) from None


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    aware = text.strip().endswith("UTC")
    try:
        stamp = datetime.strptime(text.replace("UTC", "").strip(), "%m/%d/%y %H:%M:%S")
    except ValueError:
        return None
    return stamp.replace(tzinfo=timezone.utc) if aware else stamp


def read(path: Path, **options: object) -> ParsedFile:
    """Read a SpecsLab Prodigy .xy export: one Block per region (per data chunk)."""
    path = Path(path)
    lines = read_text(path, READER.id).splitlines()
    if not lines or not _sniff(lines[0].encode("latin-1", errors="replace")):
        raise _fail(path, "first line is not '# Created by: SpecsLab Prodigy ...'", line=1)
    settings: dict[str, str] = {}
    regions: list[dict[str, Any]] = []  # {"keys", "line", "chunks": [(label, first line, rows)]}
    current: dict[str, Any] | None = None
    group = ""
    chunk: list[Any] | None = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            if chunk is not None and chunk[2]:
                chunk = None
            continue
        if stripped.startswith("#"):
            if chunk is not None and chunk[2]:
                chunk = None  # a comment after data rows ends the chunk
            match = _CHUNK.match(stripped)
            if match:
                if current is None:
                    raise _fail(path, "data chunk before any '# Region:' line", line=number)
                chunk = [match.groups(), number, [], {}]
                current["chunks"].append(chunk)
                continue
            kv = _KEY_VALUE.match(stripped)
            if not kv:
                continue
            key, value = kv.group(1).strip(), kv.group(2)
            if chunk is not None:  # keys between a chunk header and its rows (ColumnLabels, date)
                chunk[3][key] = value
            elif key == "Group":
                group = value
            elif key == "Region":
                current = {"keys": {"Group": group, "Region": value}, "line": number, "chunks": []}
                regions.append(current)
            elif current is None:
                settings.setdefault(key, value)
            elif key not in current["keys"]:
                current["keys"][key] = value
            continue
        if chunk is None:
            raise _fail(path, f"data row outside a '# Cycle: …, Curve: …' chunk: {stripped[:40]!r}", line=number)
        chunk[2].append((number, line))
    if not regions:
        raise _fail(path, "no '# Region:' line: the export holds no spectra", field="Region")

    axis = settings.get("Energy Axis", "").lower()
    kind = "binding" if axis == "binding energy" else "kinetic" if axis == "kinetic energy" else None
    if kind is None:
        raise _fail(path, f"export setting 'Energy Axis' is {settings.get('Energy Axis')!r}, expected Binding "
                    "Energy or Kinetic Energy", field="Energy Axis")
    rate = settings.get("Count Rate", "").lower()
    unit = {"counts per second": "count/s", "counts": "count"}.get(rate)
    if unit is None:
        raise _fail(path, f"export setting 'Count Rate' is {settings.get('Count Rate')!r}, expected 'Counts per "
                    "Second' or 'Counts'", field="Count Rate")

    warnings: list[str] = []
    blocks: list[Block] = []
    taken: set[str] = set()
    for region in regions:
        keys, name = region["keys"], region["keys"]["Region"] or "region"
        where = f"region {name!r}"
        if not region["chunks"] or not any(c[2] for c in region["chunks"]):
            raise _fail(path, f"{where}: no data rows (empty region)", line=region["line"], field="Region")
        expected = _float(path, keys, "Values/Curve", where, region["line"])
        hv = _float(path, keys, "Excitation Energy", where, region["line"])
        for (cycle, curve, scan), chunk_line, rows, chunk_keys in region["chunks"]:
            if not rows:
                raise _fail(path, f"{where}: chunk at line {chunk_line} has no data rows (empty region)",
                            line=chunk_line, field="Values/Curve")
            first_row = rows[0][0]
            body = "\n".join(text for _n, text in rows)
            try:
                table = read_numeric_table(path, reader=READER.id, min_columns=2, max_columns=2, text=body)
            except FormatError as exc:
                line = first_row - 1 + exc.line if exc.line is not None else first_row
                raise _fail(path, f"{where}: {exc.message}", line=line) from None
            energy, intensity = table.columns[0], table.columns[1]
            if expected is not None and int(expected) != energy.size:
                raise _fail(path, f"{where}: 'Values/Curve' is {int(expected)} but the chunk at line {chunk_line} "
                            f"has {energy.size} rows (inconsistent point count or truncated data)",
                            line=chunk_line, field="Values/Curve")
            arrays = _common.energy_arrays(energy, kind, hv, path=path, reader=READER.id, block=where)
            arrays.append(ArrayData("intensity", intensity, "SpectralIntensity", unit,
                                    f"intensity as exported (Count Rate: {settings.get('Count Rate')})"))
            n_scans = _float(path, keys, "Number of Scans", where, region["line"])
            species, transition = _common.split_region_name(name)
            meta = _common.block_metadata(
                name=name, species=species, transition=transition, binding_energy=arrays[0].values,
                excitation_energy=hv, file_source_label=keys.get("Source"), analyser=keys.get("Analyzer"),
                analyser_mode=keys.get("Scan Mode"), technique=keys.get("Analysis Method"),
                n_scans=int(n_scans) if n_scans is not None else None,
                raw=dict(keys, cycle=cycle, curve=curve, scan=scan, chunk=chunk_keys))
            for key, source in (("lens_mode", "Analyzer Lens"), ("group", "Group")):
                if keys.get(source):
                    meta[key] = keys[source]
            stamp = _time(chunk_keys.get("Acquisition Date") or keys.get("Acquisition Date"))
            if stamp is not None:
                meta["start_time"] = stamp
            quantities = _common.block_quantities(
                excitation_energy=hv, pass_energy=_float(path, keys, "Pass Energy", where, region["line"]),
                dwell_time_s=_float(path, keys, "Dwell Time", where, region["line"]), n_scans=n_scans,
                work_function=_float(path, keys, "Eff. Workfunction", where, region["line"]))
            label = name if len(region["chunks"]) == 1 else f"{name} (cycle {cycle}, curve {curve}, scan {scan})"
            blocks.append(Block(_common.unique_name(label, taken), arrays=arrays, quantities=quantities,
                                metadata=meta))

    techniques = sorted({b.metadata.get("technique", "") for b in blocks} - {""})
    families = sorted({_common.technique_family(t) for t in techniques})
    metadata: dict[str, Any] = {}
    if len(families) == 1:
        metadata["technique"] = families[0]
    elif families:
        metadata["technique"] = "mixed"
        metadata["techniques"] = families
        warnings.append(f"regions of different techniques in one file: {', '.join(techniques)}")
    else:
        warnings.append("no 'Analysis Method' in the export: technique unknown")
    software = lines[0].split(":", 1)[1].strip()
    metadata["software"] = software
    if regions[0]["keys"].get("Group"):
        metadata["sample_name"] = regions[0]["keys"]["Group"]
    stamp = blocks[0].metadata.get("start_time")
    if stamp is not None:
        metadata["start_time"] = stamp
        if stamp.tzinfo is None:
            warnings.append("start_time is naive: the export's time zone format is not UTC")
    return ParsedFile(format_id=READER.id, blocks=blocks, metadata=metadata,
                      raw_metadata={"export_settings": settings}, warnings=warnings)
