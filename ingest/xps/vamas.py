"""VAMAS / ISO 14976 surface-analysis transfer format (``.vms``).

Usage
    ``battkg ingest xps spectra.vms`` (format id ``xps.vamas``).  Detected by
    the first line ``VAMAS Surface Chemical Analysis Standard Data Transfer
    Format 1988 May 4``.

Schema
    One Block per VAMAS block, named by its block identifier (made unique with
    `` #2``… when identifiers repeat; an empty identifier becomes ``block <n>``).
    Arrays: ``kinetic_energy`` / ``binding_energy`` (eV) — the abscissa as
    written plus the other one computed with BE = hν − KE (work function not
    subtracted, see ``_common``); ``intensity`` (SpectralIntensity) is the
    first corresponding variable after the abscissa, in ``count`` when its
    unit is ``d`` (dimensionless, pulse counting) and ``count/s`` when the
    unit is ``c/s``; it is never rescaled.  When the intensity is in counts
    and the block gives the signal collection time t and the number of scans
    N, a separate array ``count_rate`` = counts / (t × N) in ``count/s`` is
    added (the CasaXPS / pynxtools-xps convention; pynxtools' VAMAS ``y`` is
    this array).  Further corresponding variables (CasaXPS and Kratos write
    the transmission function) become arrays named after their label
    (``transmission``) with quantity ``TransmissionFunction``.
    Abscissa labels other than kinetic/binding energy are a FormatError.

Grammar (ISO 14976 as published by Dench, Hazell & Seah, SIA 13 (1988) 63)
    The file is one value per line; meaning comes from position.  Header:
    format id, institution, instrument model, operator, experiment id,
    comment (count + lines), experiment mode (MAP MAPDP MAPSV MAPSVDP NORM SDP
    SDPSV SEM NOEXP), scan mode (REGULAR IRREGULAR MAPPING), number of
    spectral regions (modes MAP MAPDP NORM SDP), analysis positions + discrete
    x and y coordinates (MAP MAPDP), experimental variables (count + label/unit
    pairs), parameter inclusion/exclusion list (count d; d>0: only listed
    block items are present in blocks 2…; d<0: listed items are absent),
    manually entered items (count + prefix numbers), future-upgrade
    experiment entries q and block entries r (two counts, then q lines),
    number of blocks, blocks, ``end of experiment``.

    Block items and the condition under which they are present are the table
    ``_BLOCK_ITEMS`` (prefix number, fields, condition).  Block identifier and
    sample identifier are always present; the first block always carries all
    items; in later blocks an item left out by the inclusion list takes the
    first block's value.  In IRREGULAR scan mode there is no abscissa item:
    the abscissa is the first corresponding variable, interleaved with the
    others in the ordinate values.  MAPPING scan mode is not read (FormatError).

Metadata
    File: ``instrument`` (instrument model), ``operator``, ``comment`` (header
    comment lines joined), ``institution``, ``experiment_id``, ``start_time``
    (first block's date; timezone from "hours in advance of GMT", except that
    0 is kept naive with a warning because writers put 0 when they do not
    know), ``technique`` ("XPS", "AES", "UPS", … from the blocks; "mixed" plus
    ``techniques`` when blocks differ), ``sample_name`` when all blocks share
    one sample identifier.  Per block: the ``_common`` keys; ``technique`` is
    the file's block technique verbatim ("AES diff"); ``analyser_mode`` is the
    VAMAS analyser mode (FAT/FRR); ``sample_name``, ``start_time``; every VAMAS
    item verbatim under ``raw`` (keyed by the field names of ``_BLOCK_ITEMS``),
    including the block comment lines (CasaXPS processing history lives
    there).  Quantities per block: ExcitationEnergy (source characteristic
    energy), PassEnergy (only for analyser mode FAT: in FRR the item is a
    retard ratio, kept raw), DwellTime (signal collection time), NumberOfScans,
    WorkFunction (analyser work function, as written, sign included).
    ``1E37`` (unknown) values are left out of quantities.

Known gaps
    MAPPING scan mode and map/linescan data (experiment modes MAP*/SEM read
    their header items, but the block data are read as one spectrum per
    block).  The "manually entered items" list is kept raw only.  Future-upgrade
    entries are kept verbatim (their meaning is not defined by the standard).

Sample files
    ``shared/samples/xps/*.vms``: SpecsLab Prodigy via CasaXPS (NORM, one
    experimental variable, CasaXPS comments), Omicron EIS (NORM, ``c/s``),
    Kratos Axis (MAP, 7 and 9 blocks, field of view; pynxtools-xps fails
    on these by reading linescan items that MAP mode does not have).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo

from battkg.ingest.xps import _common

MAGIC = "VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4"

READER = ReaderInfo(
    id="xps.vamas",
    technique="xps",
    suffixes=(".vms", ".vamas", ".npl"),
    description="VAMAS ISO 14976 surface chemical analysis transfer format (XPS, AES, UPS, ...)",
    magic=(MAGIC.encode("ascii"),),
    priority=10,
)

EXPERIMENT_MODES = ("MAP", "MAPDP", "MAPSV", "MAPSVDP", "NORM", "SDP", "SDPSV", "SEM", "NOEXP")
SCAN_MODES = ("REGULAR", "IRREGULAR", "MAPPING")
TECHNIQUES = ("AES diff", "AES dir", "EDX", "ELS", "FABMS", "FABMS energy spec", "ISS", "SIMS",
              "SIMS energy spec", "SNMS", "SNMS energy spec", "UPS", "XPS", "XRF")
_ION_TECHNIQUES = ("FABMS", "FABMS energy spec", "ISS", "SIMS", "SIMS energy spec", "SNMS", "SNMS energy spec")
_SPUTTER_MODES = ("MAPDP", "MAPSVDP", "SDP", "SDPSV")
_ELECTRON_PHOTON_TECHNIQUES = ("AES diff", "AES dir", "EDX", "ELS", "UPS", "XPS", "XRF")
_REFERENCE = "For reference, see ISO 14976 (VAMAS transfer format), block grammar."


@dataclass(frozen=True)
class _Ctx:
    """What the presence conditions of block items depend on."""

    experiment_mode: str
    scan_mode: str
    technique: str


# Field kinds: "s" text, "i" integer, "f" float; special kinds are lists.
_Cond = Callable[[_Ctx], bool]
_ALWAYS: _Cond = lambda c: True  # noqa: E731 - a table of small predicates reads best inline

# (prefix number, ((field, kind), ...), condition).  Prefix numbers are those
# of the parameter inclusion/exclusion list; None = always present.
_BLOCK_ITEMS: tuple[tuple[int | None, tuple[tuple[str, str], ...], _Cond], ...] = (
    (None, (("block_identifier", "s"),), _ALWAYS),
    (None, (("sample_identifier", "s"),), _ALWAYS),
    (1, (("year", "i"),), _ALWAYS),
    (2, (("month", "i"),), _ALWAYS),
    (3, (("day", "i"),), _ALWAYS),
    (4, (("hours", "i"),), _ALWAYS),
    (5, (("minutes", "i"),), _ALWAYS),
    (6, (("seconds", "f"),), _ALWAYS),
    (7, (("hours_in_advance_of_gmt", "f"),), _ALWAYS),
    (8, (("block_comment", "comment"),), _ALWAYS),
    (9, (("technique", "technique"),), _ALWAYS),
    (10, (("x_coordinate", "f"), ("y_coordinate", "f")), lambda c: c.experiment_mode in ("MAP", "MAPDP")),
    (11, (("experimental_variable_values", "expvars"),), _ALWAYS),
    (12, (("analysis_source_label", "s"),), _ALWAYS),
    (13, (("sputtering_ion_atomic_number", "i"), ("sputtering_ion_number_of_atoms", "i"),
          ("sputtering_ion_charge", "i")),
     lambda c: c.experiment_mode in _SPUTTER_MODES or c.technique in _ION_TECHNIQUES),
    (14, (("analysis_source_characteristic_energy", "f"),), _ALWAYS),
    (15, (("analysis_source_strength", "f"),), _ALWAYS),
    (16, (("analysis_source_beam_width_x", "f"), ("analysis_source_beam_width_y", "f")), _ALWAYS),
    (17, (("field_of_view_x", "f"), ("field_of_view_y", "f")),
     lambda c: c.experiment_mode in ("MAP", "MAPDP", "MAPSV", "MAPSVDP", "SEM")),
    (18, (("first_linescan_start_x", "f"), ("first_linescan_start_y", "f"), ("first_linescan_finish_x", "f"),
          ("first_linescan_finish_y", "f"), ("last_linescan_finish_x", "f"), ("last_linescan_finish_y", "f")),
     lambda c: c.experiment_mode in ("MAPSV", "MAPSVDP", "SEM")),
    (19, (("analysis_source_polar_angle_of_incidence", "f"),), _ALWAYS),
    (20, (("analysis_source_azimuth", "f"),), _ALWAYS),
    (21, (("analyser_mode", "s"),), _ALWAYS),
    (22, (("analyser_pass_energy_or_retard_ratio_or_mass_resolution", "f"),), _ALWAYS),
    (23, (("differential_width", "f"),), lambda c: c.technique == "AES diff"),
    (24, (("magnification_of_analyser_transfer_lens", "f"),), _ALWAYS),
    (25, (("analyser_work_function_or_acceptance_energy", "f"),), _ALWAYS),
    (26, (("target_bias", "f"),), _ALWAYS),
    (27, (("analysis_width_x", "f"), ("analysis_width_y", "f")), _ALWAYS),
    (28, (("analyser_axis_take_off_polar_angle", "f"), ("analyser_axis_take_off_azimuth", "f")), _ALWAYS),
    (29, (("species_label", "s"),), _ALWAYS),
    (30, (("transition_or_charge_state_label", "s"), ("charge_of_detected_particle", "f")), _ALWAYS),
    (31, (("abscissa_label", "s"), ("abscissa_units", "s"), ("abscissa_start", "f"),
          ("abscissa_increment", "f")), lambda c: c.scan_mode == "REGULAR"),
    (32, (("corresponding_variables", "corrvars"),), _ALWAYS),
    (33, (("signal_mode", "s"),), _ALWAYS),
    (34, (("signal_collection_time", "f"),), _ALWAYS),
    (35, (("number_of_scans_to_compile_this_block", "i"),), _ALWAYS),
    (36, (("signal_time_correction", "f"),), _ALWAYS),
    (37, (("sputtering_source_energy", "f"), ("sputtering_source_beam_current", "f"),
          ("sputtering_source_width_x", "f"), ("sputtering_source_width_y", "f"),
          ("sputtering_source_polar_angle_of_incidence", "f"), ("sputtering_source_azimuth", "f"),
          ("sputtering_mode", "s")),
     lambda c: c.technique in _ELECTRON_PHOTON_TECHNIQUES and c.experiment_mode in _SPUTTER_MODES),
    (38, (("sample_normal_polar_angle_of_tilt", "f"), ("sample_normal_tilt_azimuth", "f")), _ALWAYS),
    (39, (("sample_rotation_angle", "f"),), _ALWAYS),
    (40, (("additional_numerical_parameters", "params"),), _ALWAYS),
)


class _Lines:
    """A cursor over the file's lines that names the line and field of every error."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.pos = 0  # index of the next line
        self.block = ""  # context for messages

    def _where(self) -> str:
        return f"{self.block}: " if self.block else ""

    def error(self, message: str, *, field: str | None = None, line: int | None = None) -> FormatError:
        return FormatError(self.path, self._where() + message, line=line if line is not None else self.pos,
                           field=field, reader=READER.id)

    def text(self, field: str) -> str:
        if self.pos >= len(self.lines):
            raise FormatError(self.path, self._where() + f"unexpected end of file while reading '{field}' "
                              "(file truncated?)", line=len(self.lines), field=field, reader=READER.id)
        value = self.lines[self.pos]
        self.pos += 1
        return value.strip()

    def integer(self, field: str) -> int:
        value = self.text(field)
        try:
            return int(value)
        except ValueError:
            try:
                as_float = float(value)
            except ValueError:
                raise self.error(f"expected an integer, got {value!r}. {_REFERENCE}", field=field) from None
            if not as_float.is_integer():
                raise self.error(f"expected an integer, got {value!r}. {_REFERENCE}", field=field) from None
            return int(as_float)

    def count(self, field: str) -> int:
        value = self.integer(field)
        if value < 0:
            raise self.error(f"a count cannot be negative (got {value})", field=field)
        return value

    def number(self, field: str) -> float:
        value = self.text(field)
        try:
            return float(value)
        except ValueError:
            raise self.error(f"expected a number, got {value!r}. {_REFERENCE}", field=field) from None

    def raw_lines(self, n: int, field: str) -> list[str]:
        out = []
        for _ in range(n):
            if self.pos >= len(self.lines):
                raise FormatError(self.path, self._where() + f"unexpected end of file in '{field}' "
                                  "(file truncated?)", line=len(self.lines), field=field, reader=READER.id)
            out.append(self.lines[self.pos])
            self.pos += 1
        return out


def _read_header(cur: _Lines) -> dict[str, Any]:
    first = cur.text("format_identifier")
    if first != MAGIC:
        raise cur.error(f"first line is not the VAMAS format identifier {MAGIC!r} (got {first[:60]!r})",
                        field="format_identifier")
    h: dict[str, Any] = {}
    for key in ("institution_identifier", "instrument_model_identifier", "operator_identifier",
                "experiment_identifier"):
        h[key] = cur.text(key)
    h["comment_lines"] = cur.raw_lines(cur.count("number_of_lines_in_comment"), "comment")
    h["experiment_mode"] = cur.text("experiment_mode")
    if h["experiment_mode"] not in EXPERIMENT_MODES:
        raise cur.error(f"unknown experiment mode {h['experiment_mode']!r}; expected one of "
                        f"{', '.join(EXPERIMENT_MODES)}", field="experiment_mode")
    h["scan_mode"] = cur.text("scan_mode")
    if h["scan_mode"] not in SCAN_MODES:
        raise cur.error(f"unknown scan mode {h['scan_mode']!r}; expected one of {', '.join(SCAN_MODES)}",
                        field="scan_mode")
    if h["scan_mode"] == "MAPPING":
        raise cur.error("scan mode MAPPING is not supported by this reader (only REGULAR and IRREGULAR)",
                        field="scan_mode")
    mode = h["experiment_mode"]
    if mode in ("MAP", "MAPDP", "NORM", "SDP"):
        h["number_of_spectral_regions"] = cur.integer("number_of_spectral_regions")
    if mode in ("MAP", "MAPDP"):
        h["number_of_analysis_positions"] = cur.integer("number_of_analysis_positions")
        h["number_of_discrete_x_coordinates"] = cur.integer("number_of_discrete_x_coordinates")
        h["number_of_discrete_y_coordinates"] = cur.integer("number_of_discrete_y_coordinates")
    n_vars = cur.count("number_of_experimental_variables")
    h["experimental_variables"] = [
        {"label": cur.text("experimental_variable_label"), "unit": cur.text("experimental_variable_unit")}
        for _ in range(n_vars)
    ]
    n_incl = cur.integer("number_of_entries_in_parameter_inclusion_or_exclusion_list")
    listed = set()
    for _ in range(abs(n_incl)):
        prefix = cur.integer("parameter_inclusion_or_exclusion_prefix_number")
        if not 1 <= prefix <= 40:
            raise cur.error(f"block parameter prefix number must be 1..40 (got {prefix})",
                            field="parameter_inclusion_or_exclusion_prefix_number")
        listed.add(prefix)
    # d > 0: only the listed items are present in blocks after the first; d < 0: listed items are absent.
    h["included_items"] = ({p for p in range(1, 41) if p in listed} if n_incl > 0
                           else {p for p in range(1, 41) if p not in listed})
    h["inclusion_list"] = sorted(listed)
    h["inclusion_list_sign"] = "include" if n_incl > 0 else ("exclude" if n_incl < 0 else "none")
    h["manually_entered_items"] = [cur.integer("manually_entered_item_prefix_number")
                                   for _ in range(cur.count("number_of_manually_entered_items_in_block"))]
    n_fue = cur.count("number_of_future_upgrade_experiment_entries")
    h["number_of_future_upgrade_block_entries"] = cur.count("number_of_future_upgrade_block_entries")
    h["future_upgrade_experiment_entries"] = cur.raw_lines(n_fue, "future_upgrade_experiment_entry")
    h["number_of_blocks"] = cur.count("number_of_blocks")
    return h


def _read_item(cur: _Lines, field: str, kind: str, header: dict[str, Any]) -> Any:
    """One block item of the given kind (see ``_BLOCK_ITEMS``)."""
    if kind == "s":
        return cur.text(field)
    if kind == "i":
        return cur.integer(field)
    if kind == "f":
        return cur.number(field)
    if kind == "comment":
        return cur.raw_lines(cur.count("number_of_lines_in_block_comment"), "block_comment")
    if kind == "technique":
        value = cur.text(field)
        if value not in TECHNIQUES:
            raise cur.error(f"unknown technique {value!r}; expected one of {', '.join(TECHNIQUES)}",
                            field=field)
        return value
    if kind == "expvars":
        return [cur.text("experimental_variable_value") for _ in header["experimental_variables"]]
    if kind == "corrvars":
        n = cur.count("number_of_corresponding_variables")
        if n == 0:
            raise cur.error("a block needs at least one corresponding variable",
                            field="number_of_corresponding_variables")
        return [{"label": cur.text("corresponding_variable_label"),
                 "unit": cur.text("corresponding_variable_unit")} for _ in range(n)]
    if kind == "params":
        return [{"label": cur.text("additional_parameter_label"), "unit": cur.text("additional_parameter_unit"),
                 "value": cur.number("additional_parameter_value")}
                for _ in range(cur.count("number_of_additional_numerical_parameters"))]
    raise AssertionError(kind)  # pragma: no cover - the table only uses the kinds above


def _read_block(cur: _Lines, header: dict[str, Any], index: int,
                first: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
    """One block's items (dict) and the 1-based line of its first ordinate value."""
    raw: dict[str, Any] = {}
    included = header["included_items"]
    for prefix, fields, cond in _BLOCK_ITEMS:
        ctx = _Ctx(header["experiment_mode"], header["scan_mode"], raw.get("technique", ""))
        if not cond(ctx):
            continue
        if first is not None and prefix is not None and prefix not in included:
            for field, _kind in fields:  # left out by the inclusion list: the first block's value
                if field in first:
                    raw[field] = first[field]
            continue
        for field, kind in fields:
            raw[field] = _read_item(cur, field, kind, header)
        if prefix is None and fields[0][0] == "block_identifier":
            cur.block = f"block {index + 1} ({raw['block_identifier'] or 'no identifier'})"
    raw["future_upgrade_block_entries"] = cur.raw_lines(header["number_of_future_upgrade_block_entries"],
                                                        "future_upgrade_block_entry")
    n_values = cur.count("number_of_ordinate_values")
    variables = raw["corresponding_variables"]
    raw["ordinate_ranges"] = [
        {"min": cur.number("minimum_ordinate_value"), "max": cur.number("maximum_ordinate_value")}
        for _ in variables
    ]
    raw["number_of_ordinate_values"] = n_values
    if n_values % len(variables):
        raise cur.error(f"number of ordinate values {n_values} is not a multiple of the "
                        f"{len(variables)} corresponding variable(s) (inconsistent point count)",
                        field="number_of_ordinate_values")
    first_value_line = cur.pos + 1
    values = np.empty(n_values, dtype=np.float64)
    for i in range(n_values):
        values[i] = cur.number("ordinate_value")
    raw["_values"] = values
    return raw, first_value_line


_KIND_BY_LABEL = {"kinetic energy": "kinetic", "binding energy": "binding"}


def _intensity_unit(label: str, unit: str) -> str | None:
    """``count`` for dimensionless ('d') counts, ``count/s`` for 'c/s'; None for anything else."""
    unit_l, label_l = unit.strip().lower(), label.strip().lower()
    if unit_l in ("c/s", "cps", "counts/s", "counts per second"):
        return "count/s"
    if unit_l in ("d", "", "counts", "count", "c") and ("rate" not in label_l):
        return "count"
    return None


def _to_block(path: Path, header: dict[str, Any], raw: dict[str, Any], first_value_line: int,
              taken: set[str], index: int, warnings: list[str]) -> Block:
    variables = raw["corresponding_variables"]
    values = raw.pop("_values")
    columns = values.reshape(-1, len(variables)).T  # interleaved: v1, v2, ..., v1, v2, ...
    ident = raw.get("block_identifier", "")
    where = f"block {index + 1} ({ident or 'no identifier'})"
    if header["scan_mode"] == "IRREGULAR":
        abscissa = columns[0]
        x_label, x_units = variables[0]["label"], variables[0]["unit"]
        variables, columns = variables[1:], columns[1:]
        if not variables:
            raise FormatError(path, f"{where}: IRREGULAR block has an abscissa but no ordinate variable",
                              field="corresponding_variables", reader=READER.id)
    else:
        n = columns.shape[1]
        abscissa = raw["abscissa_start"] + raw["abscissa_increment"] * np.arange(n, dtype=np.float64)
        x_label, x_units = raw["abscissa_label"], raw["abscissa_units"]
    if columns.shape[1] == 0:
        raise FormatError(path, f"{where}: block has no data points (empty region)",
                          field="number_of_ordinate_values", line=first_value_line - 1, reader=READER.id)
    kind = _KIND_BY_LABEL.get(x_label.strip().lower())
    if kind is None or x_units.strip().lower() != "ev":
        raise FormatError(path, f"{where}: abscissa {x_label!r} in {x_units!r} is not a kinetic or binding "
                          "energy in eV; this reader only reads energy spectra", field="abscissa_label",
                          reader=READER.id)
    hv = raw.get("analysis_source_characteristic_energy")
    arrays = _common.energy_arrays(abscissa, kind, hv, path=path, reader=READER.id, block=where)
    y_label, y_units = variables[0]["label"], variables[0]["unit"]
    unit = _intensity_unit(y_label, y_units)
    if unit is None:
        raise FormatError(path, f"{where}: intensity unit {y_units!r} (label {y_label!r}) is neither counts "
                          "('d') nor counts per second ('c/s')", field="corresponding_variable_unit",
                          reader=READER.id)
    intensity = columns[0].copy()
    arrays.append(ArrayData("intensity", intensity, "SpectralIntensity", unit,
                            f"{y_label} as written in the file ({y_units})"))
    dwell = raw.get("signal_collection_time")
    n_scans = raw.get("number_of_scans_to_compile_this_block")
    if unit == "count" and _common.is_given(dwell) and dwell > 0 and n_scans and n_scans > 0:
        arrays.append(ArrayData("count_rate", intensity / (dwell * n_scans), "SpectralIntensity", "count/s",
                                "counts / (signal collection time x number of scans), CasaXPS convention"))
    for var, column in zip(variables[1:], columns[1:]):
        name = "_".join(var["label"].lower().split()) or "variable"
        if name == "transmission":  # CasaXPS / Kratos write the analyser transmission function here
            arrays.append(ArrayData(name, column.copy(), "TransmissionFunction", "dimensionless",
                                    f"corresponding variable '{var['label']}' ({var['unit']}) as written"))
        else:
            other_unit = _intensity_unit(var["label"], var["unit"])
            if other_unit is None:
                warnings.append(f"{where}: corresponding variable {var['label']!r} ({var['unit']!r}) is not "
                                "a known quantity and was not kept as an array")
                continue
            arrays.append(ArrayData(name, column.copy(), "SpectralIntensity", other_unit,
                                    f"corresponding variable '{var['label']}' ({var['unit']}) as written"))
    mode = raw.get("analyser_mode", "")
    pass_energy = raw.get("analyser_pass_energy_or_retard_ratio_or_mass_resolution") if mode == "FAT" else None
    quantities = _common.block_quantities(
        excitation_energy=hv, pass_energy=pass_energy, dwell_time_s=dwell, n_scans=n_scans,
        work_function=raw.get("analyser_work_function_or_acceptance_energy"))
    species = raw.get("species_label", "")
    transition = raw.get("transition_or_charge_state_label", "")
    name = ident or f"block {index + 1}"
    be = arrays[0].values
    meta = _common.block_metadata(
        name=name, species=species, transition=transition, binding_energy=be, excitation_energy=hv,
        file_source_label=raw.get("analysis_source_label"), analyser=None, analyser_mode=mode,
        technique=raw.get("technique"), n_scans=n_scans, raw=raw)
    # Kratos names surveys only by species ("Wide"), SpecsLab by identifier ("Survey").
    meta["scan_type"] = _common.scan_type(f"{ident} {species}", be)
    meta["block_identifier"] = ident
    if raw.get("sample_identifier") and raw["sample_identifier"].lower() != "not specified":
        meta["sample_name"] = raw["sample_identifier"]
    stamp = _block_time(raw, warnings, where)
    if stamp is not None:
        meta["start_time"] = stamp
    return Block(_common.unique_name(name, taken), arrays=arrays, quantities=quantities, metadata=meta)


def _block_time(raw: dict[str, Any], warnings: list[str], where: str) -> datetime | None:
    try:
        seconds = float(raw["seconds"])
        stamp = datetime(int(raw["year"]), int(raw["month"]), int(raw["day"]), int(raw["hours"]),
                         int(raw["minutes"])) + timedelta(seconds=seconds)
    except (KeyError, ValueError, OverflowError):
        warnings.append(f"{where}: date/time items do not form a valid date; start_time left out")
        return None
    offset = raw.get("hours_in_advance_of_gmt")
    if offset is None or not _common.is_given(offset) or offset == 0:
        return stamp
    return stamp.replace(tzinfo=timezone(timedelta(hours=float(offset))))


def read(path: Path, **options: object) -> ParsedFile:
    """Read a VAMAS file: one Block per VAMAS block (see the module docstring)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot read file: {exc.strerror or exc}", reader=READER.id) from exc
    if not data.strip():
        raise FormatError(path, "file is empty", reader=READER.id)
    # VAMAS is 7-bit ASCII by the standard; CasaXPS writes Latin-1 in comments.
    text = data.decode("latin-1")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cur = _Lines(path, lines)
    header = _read_header(cur)
    warnings: list[str] = []
    blocks: list[Block] = []
    taken: set[str] = set()
    first: dict[str, Any] | None = None
    for index in range(header["number_of_blocks"]):
        cur.block = f"block {index + 1}"
        raw, first_value_line = _read_block(cur, header, index, first)
        if first is None:
            first = {k: v for k, v in raw.items() if k != "_values"}
        blocks.append(_to_block(path, header, raw, first_value_line, taken, index, warnings))
    cur.block = ""
    end = cur.text("end_of_experiment") if cur.pos < len(lines) else ""
    if end.lower() != "end of experiment":
        raise cur.error(f"expected 'end of experiment' after block {header['number_of_blocks']}, got "
                        f"{end[:40]!r} (wrong number of ordinate values or truncated file?)",
                        field="end_of_experiment")
    trailing = [line for line in lines[cur.pos:] if line.strip()]
    if trailing:
        warnings.append(f"{len(trailing)} non-empty line(s) after 'end of experiment' ignored")
    if not blocks:
        raise FormatError(path, "the file declares no blocks (no spectra)", field="number_of_blocks",
                          reader=READER.id)
    techniques = sorted({b.metadata.get("technique", "") for b in blocks})
    families = sorted({_common.technique_family(t) for t in techniques})
    metadata: dict[str, Any] = {"technique": families[0] if len(families) == 1 else "mixed"}
    if len(families) > 1:
        metadata["techniques"] = families
        warnings.append(f"blocks of different techniques in one file: {', '.join(techniques)}")
    for key, source in (("instrument", "instrument_model_identifier"), ("operator", "operator_identifier"),
                        ("institution", "institution_identifier"), ("experiment_id", "experiment_identifier")):
        value = header.get(source, "")
        if value and value.lower() != "not specified":
            metadata[key] = value
    if header["comment_lines"]:
        metadata["comment"] = "\n".join(line.rstrip() for line in header["comment_lines"])
    samples = {b.metadata.get("sample_name") for b in blocks}
    if len(samples) == 1 and None not in samples:
        metadata["sample_name"] = samples.pop()
    stamp = blocks[0].metadata.get("start_time")
    if stamp is not None:
        metadata["start_time"] = stamp
        if stamp.tzinfo is None:
            warnings.append("start_time is naive: the file gives 0 hours in advance of GMT, which VAMAS "
                            "writers also use when the time zone is unknown")
    raw_header = {k: v for k, v in header.items() if k != "included_items"}
    return ParsedFile(format_id=READER.id, blocks=blocks, metadata=metadata, raw_metadata=raw_header,
                      warnings=warnings)
