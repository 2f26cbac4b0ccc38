"""Scienta SES text export (``.txt`` with ``[Region n]`` sections).

Usage
    ``battkg ingest xps Ag_0001.txt`` (format id ``xps.scienta.txt``).
    Detected by content: the file starts with an ``[Info]`` section that has
    ``Number of Regions=``.

Schema
    INI-like sections.  ``[Info]`` gives ``Number of Regions``; for each region
    n: ``[Region n]`` (``Region Name``, ``Dimension 1 name``/``size``/
    ``scale``), ``[Info n]`` (acquisition ``Key=Value`` pairs), ``[Run Mode
    Information n]`` and ``[Data n]``: rows of energy and intensity.  One Block
    per region, named by ``Region Name``.

    The energy column is binding energy when ``Energy Scale=Binding`` (and the
    dimension name says "Binding Energy"), kinetic energy when it is
    ``Kinetic``; the other axis is computed with ``Excitation Energy``
    (BE = hν − KE, work function not subtracted).  ``intensity``: the second
    column as written, unit ``count``: the export itself states no unit; SES
    writes the detector signal summed over sweeps (non-integer in ADC mode), and
    this reader does not divide by step time or sweeps (pynxtools-xps, the
    oracle, reports the same numbers).

Metadata
    File: ``instrument`` (``Instrument``), ``sample_name`` (``Sample``),
    ``operator`` (``User``), ``comment`` (``Comments``, unless only ";"),
    ``start_time`` (``Date`` + ``Time`` of the first region, naive: the file has
    no time zone; a warning says so), ``technique`` "XPS" (the export has no
    technique field; SES is a photoelectron-spectroscopy program), ``software_version``.
    Per block: the ``_common`` keys with ``analyser`` = ``Instrument``,
    ``analyser_mode`` = ``Acquisition Mode`` (Swept/Fixed), ``lens_mode``,
    ``n_scans`` = ``Number of Sweeps``; quantities ExcitationEnergy,
    PassEnergy, DwellTime (``Step Time`` in ms → s), NumberOfScans.  All keys
    of the region's sections verbatim under ``raw``.

Known gaps
    Regions with more than one slice (``Number of Slices`` > 1, angle- or
    spatially-resolved data with a ``Dimension 2``) are refused.  No work
    function in the export.

Sample files
    ``shared/samples/xps/pynxtools_scienta_Ag_0001.txt`` (one region, Ag 3d at
    hν = 520 eV; the same measurement as the Igor ``.ibw`` beside it).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from battkg.errors import FormatError
from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo
from battkg.textdata import read_numeric_table, read_text

from battkg.ingest.xps import _common


def _sniff(head: bytes) -> bool:
    text = head[:4096].decode("latin-1", errors="replace").lstrip("\ufeff\r\n ")
    return text.startswith("[Info]") and "Number of Regions=" in text


READER = ReaderInfo(
    id="xps.scienta.txt",
    technique="xps",
    suffixes=(".txt",),
    description="Scienta SES text export with [Region n]/[Info n]/[Data n] sections",
    sniff=_sniff,
    priority=20,
)

_SECTION = re.compile(r"^\[(.+)\]\s*$")


def _fail(path: Path, message: str, **kw: Any) -> FormatError:
    return FormatError(path, message, reader=READER.id, **kw)


def _sections(lines: list[str]) -> list[tuple[str, int, list[str]]]:
    """(section name, 1-based line of its header, body lines) in file order."""
    out: list[tuple[str, int, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        match = _SECTION.match(line.strip())
        if match:
            out.append((match.group(1).strip(), number, []))
        elif out:
            out[-1][2].append(line)
    return out


def _pairs(body: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in body:
        key, sep, value = line.partition("=")
        if sep:
            pairs[key.strip()] = value.strip()
    return pairs


def _number(path: Path, pairs: dict[str, str], key: str, where: str, line: int) -> float | None:
    value = pairs.get(key)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise _fail(path, f"{where}: '{key}' is not a number: {value!r}", line=line, field=key) from None


def read(path: Path, **options: object) -> ParsedFile:
    """Read a Scienta SES text export: one Block per region."""
    path = Path(path)
    text = read_text(path, READER.id)
    lines = text.splitlines()
    sections = _sections(lines)
    if not sections or sections[0][0] != "Info":
        raise _fail(path, "first section is not [Info]: not a Scienta SES text export", line=1)
    by_name = {name: (start, body) for name, start, body in sections}
    info = _pairs(sections[0][2])
    try:
        n_regions = int(info.get("Number of Regions", ""))
    except ValueError:
        raise _fail(path, f"[Info] 'Number of Regions' is not an integer: {info.get('Number of Regions')!r}",
                    line=sections[0][1], field="Number of Regions") from None
    if n_regions < 1:
        raise _fail(path, "[Info] declares no regions", line=sections[0][1], field="Number of Regions")
    warnings: list[str] = []
    blocks: list[Block] = []
    taken: set[str] = set()
    first_info: dict[str, str] = {}
    for n in range(1, n_regions + 1):
        missing = [s for s in (f"Region {n}", f"Info {n}", f"Data {n}") if s not in by_name]
        if missing:
            raise _fail(path, f"region {n} of {n_regions}: section(s) {', '.join('[' + m + ']' for m in missing)} "
                        "missing (file truncated?)", field=missing[0])
        region_line, region_body = by_name[f"Region {n}"]
        info_line, info_body = by_name[f"Info {n}"]
        data_line, data_body = by_name[f"Data {n}"]
        region = _pairs(region_body)
        acq = _pairs(info_body)
        first_info = first_info or acq
        name = region.get("Region Name") or acq.get("Region Name") or f"region {n}"
        where = f"region {n} ({name})"
        if "Dimension 2 size" in region or (_number(path, acq, "Number of Slices", where, info_line) or 1) > 1:
            raise _fail(path, f"{where}: more than one slice (angle/space-resolved data) is not supported",
                        line=region_line, field="Number of Slices")
        size = _number(path, region, "Dimension 1 size", where, region_line)
        # Re-use the shared numeric-table parser on the [Data n] body; shift its line numbers.
        body = "\n".join(data_body)
        if not body.strip():
            raise _fail(path, f"{where}: [Data {n}] is empty (empty region)", line=data_line, field=f"Data {n}")
        try:
            table = read_numeric_table(path, reader=READER.id, min_columns=2, max_columns=2, text=body)
        except FormatError as exc:
            line = data_line + exc.line if exc.line is not None else data_line
            raise _fail(path, f"{where}: {exc.message}", line=line, field=f"Data {n}") from None
        energy, intensity = table.columns[0], table.columns[1]
        if size is not None and int(size) != energy.size:
            raise _fail(path, f"{where}: 'Dimension 1 size' is {int(size)} but [Data {n}] has {energy.size} rows "
                        "(inconsistent point count or truncated data)", line=region_line,
                        field="Dimension 1 size")
        scale = region.get("Dimension 1 scale", "").split()
        if scale and len(scale) != energy.size:
            raise _fail(path, f"{where}: 'Dimension 1 scale' has {len(scale)} values but [Data {n}] has "
                        f"{energy.size} rows (inconsistent point count)", line=region_line,
                        field="Dimension 1 scale")
        energy_scale = acq.get("Energy Scale", "").strip().lower()
        dim_name = region.get("Dimension 1 name", "").lower()
        if energy_scale not in ("binding", "kinetic"):
            raise _fail(path, f"{where}: 'Energy Scale' is {acq.get('Energy Scale')!r}, expected Binding or "
                        "Kinetic", line=info_line, field="Energy Scale")
        if dim_name and energy_scale not in dim_name:
            raise _fail(path, f"{where}: 'Energy Scale={acq.get('Energy Scale')}' contradicts 'Dimension 1 "
                        f"name={region.get('Dimension 1 name')}'", line=region_line, field="Dimension 1 name")
        hv = _number(path, acq, "Excitation Energy", where, info_line)
        arrays = _common.energy_arrays(energy, energy_scale, hv, path=path, reader=READER.id, block=where)
        arrays.append(ArrayData("intensity", intensity, "SpectralIntensity", "count",
                                "second data column as written (SES signal summed over sweeps; unit not stated)"))
        sweeps = _number(path, acq, "Number of Sweeps", where, info_line)
        step_ms = _number(path, acq, "Step Time", where, info_line)
        species, transition = _common.split_region_name(name)
        raw = {"region": region, "info": acq,
               "run_mode": _pairs(by_name.get(f"Run Mode Information {n}", (0, []))[1])}
        meta = _common.block_metadata(
            name=name, species=species, transition=transition, binding_energy=arrays[0].values,
            excitation_energy=hv, file_source_label=None, analyser=acq.get("Instrument"),
            analyser_mode=acq.get("Acquisition Mode"), technique="XPS",
            n_scans=int(sweeps) if sweeps is not None else None, raw=raw)
        if acq.get("Lens Mode"):
            meta["lens_mode"] = acq["Lens Mode"]
        quantities = _common.block_quantities(
            excitation_energy=hv, pass_energy=_number(path, acq, "Pass Energy", where, info_line),
            dwell_time_s=step_ms / 1000.0 if step_ms is not None else None, n_scans=sweeps)
        blocks.append(Block(_common.unique_name(name, taken), arrays=arrays, quantities=quantities,
                            metadata=meta))
    warnings.append("intensity unit is not stated by the SES text export; reported as 'count' (not rescaled)")
    metadata: dict[str, Any] = {"technique": "XPS"}
    for key, source in (("instrument", "Instrument"), ("sample_name", "Sample"), ("operator", "User")):
        if first_info.get(source):
            metadata[key] = first_info[source]
    comment = first_info.get("Comments", "").strip()
    if comment and comment != ";":
        metadata["comment"] = comment
    if info.get("Version"):
        metadata["software_version"] = info["Version"]
    if first_info.get("Date") and first_info.get("Time"):
        try:
            metadata["start_time"] = datetime.fromisoformat(f"{first_info['Date']}T{first_info['Time']}")
            warnings.append("start_time is naive: the SES export gives no time zone")
        except ValueError:
            warnings.append(f"Date/Time {first_info['Date']!r} {first_info['Time']!r} not understood; kept raw")
    return ParsedFile(format_id=READER.id, blocks=blocks, metadata=metadata, raw_metadata={"info": info},
                      warnings=warnings)
