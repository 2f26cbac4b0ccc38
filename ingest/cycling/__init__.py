"""Battery cycling readers: one module per vendor format, plus per-cycle analysis.

Every reader returns one :class:`~battkg.readers.Block` named ``"timeseries"``
with these arrays (where the file has them), built by
:func:`battkg.ingest.cycling._common.timeseries_block`:

=====================  ==========================  =========  ===================================
array                  quantity                    unit       notes
=====================  ==========================  =========  ===================================
``time``               Time                        s          test time from the start of the file
``voltage``            CellVoltage                 V
``current``            CellCurrent                 A          **positive = charging the cell**
``charge_capacity``    ChargingCapacity            A*h        cumulative within each half cycle
``discharge_capacity`` DischargingCapacity         A*h        cumulative within each half cycle
``cycle_index``        CycleIndex                  (int)      **1-based**; how derived: per reader
``half_cycle``         PureNumberQuantity          (int)      vendor half-cycle counter
``step_index``         PureNumberQuantity          (int)      vendor step / sequence number
``temperature``        ThermodynamicTemperature    degC or K  as given by the file
=====================  ==========================  =========  ===================================

Metadata keys: ``technique`` (GCPL, CP, MB, ...), ``instrument``,
``start_time``, ``software_version``, ``channel``; the active mass, where the
file gives it, is a file-level ``ScalarQuantity("ActiveMass", value, "mg"|"g")``.

Readers register themselves: every public module of this package with a ``READER``
(:class:`~battkg.readers.ReaderInfo`) is found by :func:`battkg.readers.readers_for` and
detected by magic bytes / content sniffing, then suffix.  Formats: EC-Lab ``.mpr``/``.mpt``,
Arbin BDF/CSV, ``.res`` (access-parser), SQL-export HDF5 and ``.xlsx`` (shared Arbin code in
``_arbin.py``), Maccor text, Neware ``.nda``/``.ndax``, battery-data-toolkit HDF5 (``batdata_h5.py``; told
from the Arbin HDF5 by its root attributes, ``ReaderInfo.probe``), and the generic mapped CSV.
"""

from __future__ import annotations  # noqa: E402 - after the package docstring's table

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import MetadataError
from battkg.ingest.technique import Analysis, Derived, Technique, UserMetadata
from battkg.readers import ArrayData, Block, ParsedFile, ScalarQuantity

DEFAULT_FORMATION_CYCLES = 3
DEFAULT_END_OF_LIFE_THRESHOLD = 0.8
SUMMARY_BLOCK = "cycle_summary"
# EC-Lab records the current averaged over the interval that ends at each sample, so the
# right-point rule is exact there; other cyclers sample the current: trapezoid.
_RIGHT_POINT_FORMATS = ("cycling.biologic.mpr", "cycling.biologic.mpt")
# Per-cycle summary columns (battkg.ingest.cycling.analysis) -> HDF5 array (name, quantity key, unit).
_SUMMARY_ARRAYS = (
    ("cycle", "cycle", "CycleIndex", "dimensionless", "cycle number, 1-based"),
    ("charge_capacity_Ah", "charge_capacity", "ChargingCapacity", "A*h", "charge capacity of the cycle"),
    ("discharge_capacity_Ah", "discharge_capacity", "DischargingCapacity", "A*h", "discharge capacity of the cycle"),
    ("coulombic_efficiency", "coulombic_efficiency", "CoulombicEfficiency", "dimensionless",
     "discharge / charge capacity of the cycle"),
    ("mean_charge_voltage_V", "mean_charge_voltage", "MeanChargeVoltage", "V", "charge energy / charge capacity"),
    ("mean_discharge_voltage_V", "mean_discharge_voltage", "MeanDischargeVoltage", "V",
     "discharge energy / discharge capacity"),
    ("charge_energy_Wh", "charge_energy", "ChargingEnergy", "W*h", "energy into the cell while charging"),
    ("discharge_energy_Wh", "discharge_energy", "DischargingEnergy", "W*h", "energy out of the cell while discharging"),
)


def _int_field(user: UserMetadata, name: str, default: int, source: str | None) -> int:
    text = user.fields.get(name)
    if text is None:
        return default
    try:
        value = int(float(text))
    except ValueError:
        raise MetadataError(name, f"must be a whole number of cycles (got {text!r})", source=source) from None
    if value < 0 or value != float(text):
        raise MetadataError(name, f"must be a whole number of cycles ≥ 0 (got {text!r})", source=source)
    return value


def _threshold(user: UserMetadata, source: str | None) -> float:
    text = user.fields.get("end_of_life_threshold")
    if text is None:
        return DEFAULT_END_OF_LIFE_THRESHOLD
    try:
        value = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise MetadataError("end_of_life_threshold", f"must be a fraction in (0, 1] such as 0.8 or '80%' "
                            f"(got {text!r})", source=source)
    return value


def _material_node(name: str) -> dict[str, Any]:
    """The same material node build_record makes for ``--material`` (so the two join)."""
    from battkg.ontology import DATA, vocabulary
    from battkg.record import slug

    vocab = vocabulary()
    node: dict[str, Any] = {"@id": f"{DATA}material/{slug(name)}", "@type": ["Material"], "label": name}
    cls = vocab.material_class(name)
    if cls:
        node["@type"].append(vocab.key_of.get(cls, cls))
    return node


def cell_description(sample: str, user: UserMetadata, source: str | None = None) -> tuple[dict[str, Any],
                                                                                          list[dict[str, Any]]]:
    """(extra keys of the sample node, extra nodes): the cell a cycling record cycles.

    The sample *is* the cell: typed BatteryCell (and CoinCell for a coin format), with its
    electrodes (typed Positive/NegativeElectrode, ``hasActiveMaterial`` the material with its
    chemical-substance class) and its electrolyte (``hasElectrolyte`` and ``hasFormulation`` the
    formulation node of :mod:`battkg.formulation`, so EIS, MD and FINALES records join on it).
    """
    from battkg.formulation import formulation_from_field
    from battkg.ontology import DATA
    from battkg.record import slug

    sample_id = f"{DATA}sample/{slug(sample)}"
    extra: dict[str, Any] = {}
    nodes: list[dict[str, Any]] = []
    described = False
    cell_format = user.fields.get("cell_format")
    if cell_format:
        extra["cellFormat"] = cell_format
        described = True
    for field_name, key, cls in (("positive_electrode", "hasPositiveElectrode", "PositiveElectrode"),
                                 ("negative_electrode", "hasNegativeElectrode", "NegativeElectrode")):
        material = user.fields.get(field_name)
        if not material:
            continue
        material_node = _material_node(material)
        electrode_id = f"{sample_id}/{field_name.replace('_', '-')}"
        nodes += [material_node, {"@id": electrode_id, "@type": [cls, "Electrode"],
                                  "label": f"{material} {cls[:-9].lower()} electrode",
                                  "hasActiveMaterial": material_node["@id"]}]
        extra[key] = electrode_id
        described = True
    if "formulation" in user.fields:
        formulation = formulation_from_field(user.fields["formulation"], source=source)
        extra["hasFormulation"] = formulation.iri
        extra["hasElectrolyte"] = formulation.iri
        nodes += formulation.jsonld_nodes()
        described = True
    if described:
        types = ["Sample", "Entity", "BatteryCell"]
        if cell_format and any(word in cell_format.lower() for word in ("coin", "cr20", "cr16", "r20", "button")):
            types.append("CoinCell")
        extra["@type"] = types
    return extra, nodes


class CyclingTechnique(Technique):
    """Battery cycling: time series → per-cycle summary (HDF5) + record-level ageing figures (graph)."""

    key = "cycling"
    activity_types = ("BatteryCycling",)
    observables = ("DischargingCapacity", "CoulombicEfficiency", "CycleLife")
    compress_while_deriving = True  # 10^6-row time series stored as read; for_record() adds the summary
    user_quantities = {
        "c_rate": ("CRate", "dimensionless", None),
        "lower_voltage_limit": ("LowerVoltageLimit", "V", None),
        "upper_voltage_limit": ("UpperVoltageLimit", "V", None),
    }
    user_fields: dict[str, tuple[str, ...] | None] = {
        "formulation": None, "cell_format": None, "positive_electrode": None, "negative_electrode": None,
        "formation_cycles": None, "end_of_life_threshold": None,
    }

    def check(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> None:
        blocks = [b for b in parsed.blocks if b.name == "timeseries"]
        if len(blocks) != 1:
            raise MetadataError("arrays", "a cycling file must give one 'timeseries' block", source=str(path))
        names = {a.name for a in blocks[0].arrays}
        missing = [n for n in ("time", "voltage", "current") if n not in names]
        if missing:
            raise MetadataError("arrays", f"the time series lacks {', '.join(missing)} (time, voltage and current "
                                "are required)", source=str(path))
        time = np.asarray(blocks[0].array("time").values)
        if time.size > 1 and np.any(np.diff(time) < 0):
            first = int(np.flatnonzero(np.diff(time) < 0)[0]) + 1
            raise MetadataError("time", f"test time goes backwards at record {first + 1} ({time[first - 1]:g} s → "
                                f"{time[first]:g} s); a cycling file must be in time order", source=str(path))
        _int_field(user, "formation_cycles", DEFAULT_FORMATION_CYCLES, str(path))
        _threshold(user, str(path))
        cell_description(str(user.sample or parsed.metadata.get("sample_name") or "sample"), user, str(path))

    def types_for(self, parsed: ParsedFile, user: UserMetadata) -> list[str]:
        technique = str(parsed.metadata.get("technique") or "").upper()
        extra = {"GCPL": ["GalvanostaticCycling", "Cycling"], "MB": ["GalvanostaticCycling", "Cycling"],
                 "CP": ["Chronopotentiometry"]}.get(technique, [])
        return [*self.activity_types, *extra]

    def derive(self, parsed: ParsedFile, user: UserMetadata) -> Derived:
        from battkg import __version__
        from battkg.ingest.cycling.analysis import cycle_summary_from_parsed, end_of_life

        derived = Derived()
        block = next(b for b in parsed.blocks if b.name == "timeseries")
        derived.activity["numberOfPoints"] = int(np.asarray(block.array("time").values).size)
        sample = user.sample or parsed.metadata.get("sample_name")
        if sample:
            derived.sample, derived.nodes = cell_description(str(sample), user)
        formation = _int_field(user, "formation_cycles", DEFAULT_FORMATION_CYCLES, None)
        threshold = _threshold(user, None)
        method = "right" if parsed.format_id in _RIGHT_POINT_FORMATS else "trapezoid"
        summary = cycle_summary_from_parsed(parsed, method=method)
        parsed.metadata["cycle_summary"] = summary  # for for_record(): the HDF5 summary block
        if summary.empty:
            derived.warnings.append("fewer than two records: no per-cycle summary")
            return derived
        ageing = end_of_life(summary, formation_cycles=formation, threshold=threshold)
        outputs = [
            ScalarQuantity("TotalNumberOfCycles", float(ageing["n_cycles"]), "dimensionless", "observed"),
            ScalarQuantity("CycleIndex", float(ageing["last_cycle"]), "dimensionless", "last observed cycle"),
            ScalarQuantity("DischargingCapacity", ageing["first_cycle_discharge_capacity_Ah"], "A*h", "first cycle"),
            ScalarQuantity("ChargingCapacity", float(summary["charge_capacity_Ah"].iloc[0]), "A*h", "first cycle"),
        ]
        first_ce = float(summary["coulombic_efficiency"].iloc[0])
        if np.isfinite(first_ce):
            outputs.append(ScalarQuantity("CoulombicEfficiency", first_ce, "dimensionless", "first cycle"))
        if ageing["reference_capacity_Ah"] is not None:
            outputs.append(ScalarQuantity("DischargingCapacity", ageing["reference_capacity_Ah"], "A*h",
                                          f"reference (cycle {ageing['reference_cycle']}, first after formation)"))
        if ageing["capacity_retention"] is not None:
            outputs.append(ScalarQuantity("CyclingCapacityRetention", ageing["capacity_retention"], "dimensionless",
                                          "last / reference cycle"))
        eol = ageing["end_of_life_cycle"]
        if isinstance(eol, int):
            status = "reached"
            outputs += [ScalarQuantity("EndOfLifeCycle", float(eol), "dimensionless", "end of life"),
                        ScalarQuantity("CycleLife", float(eol - 1), "dimensionless",
                                       "cycles completed before end of life")]
        elif eol == "not reached":
            status = "not reached"
        else:
            status = "undetermined"
            derived.warnings.append(f"end of life undetermined: {ageing['n_cycles']} cycle(s) observed, the reference "
                                    f"capacity is the first cycle after {formation} formation cycle(s)")
        derived.analyses.append(Analysis(
            key="cycle-summary",
            label="per-cycle summary and end of life",
            method=(f"Capacities and energies by integrating current and current×voltage over time per cycle "
                    f"({'right-point (sample-and-hold)' if method == 'right' else 'trapezoid'} rule; current "
                    f"positive = charging); coulombic efficiency = discharge / charge capacity of a cycle; mean "
                    f"voltages = energy / capacity.  Reference capacity = discharge capacity of the first cycle after "
                    f"{formation} formation cycle(s); end of life = first later cycle below {threshold:g} × reference "
                    f"(CycleLife = that cycle − 1); capacity retention = last / reference.  Per-cycle table: HDF5 "
                    f"group '{SUMMARY_BLOCK}'."),
            outputs=outputs,
            parameters=[ScalarQuantity("PureNumberQuantity", float(formation), "dimensionless", "formation cycles"),
                        ScalarQuantity("EndOfLifeCapacityThreshold", threshold, "dimensionless", None)],
            software="battkg", software_version=__version__,
            extra={"endOfLifeStatus": status},
        ))
        return derived

    def for_record(self, parsed: ParsedFile, user: UserMetadata) -> ParsedFile:
        """Add the per-cycle summary as its own HDF5 block (arrays, never triples)."""
        summary = parsed.metadata.get("cycle_summary")
        metadata = {k: v for k, v in parsed.metadata.items() if k != "cycle_summary"}
        if summary is None or summary.empty:
            return replace(parsed, metadata=metadata)
        arrays = [ArrayData(name, summary[column].to_numpy(dtype=np.int64 if name == "cycle" else np.float64),
                            quantity, unit, text)
                  for column, name, quantity, unit, text in _SUMMARY_ARRAYS]
        return replace(parsed, blocks=[*parsed.blocks, Block(SUMMARY_BLOCK, arrays=arrays)], metadata=metadata)

    def title(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> str:
        technique = parsed.metadata.get("technique")
        sample = user.sample or parsed.metadata.get("sample_name")
        return user.title or f"Cycling{' (' + str(technique) + ')' if technique else ''} of {sample} ({path.name})"


TECHNIQUE = CyclingTechnique()
