"""Molecular-dynamics readers and transport analysis.

One module per format, each exposing ``READER`` and ``read(path, *, topology=None,
store_positions=False, **options) -> ParsedFile``:

==================  ===============================================================
module              format
==================  ===============================================================
``xyz``             XYZ and extended XYZ (ASE ``key=value`` comment lines)
``lammps_dump``     LAMMPS dump (``ITEM:`` frames; ``.bz2``/``.gz``; triclinic, scaled)
``lammps_data``     LAMMPS data file (``write_data``; topology of a dump)
``lammps_log``      LAMMPS log: ``thermo_style custom`` tables and ``multi`` blocks
``gromacs``         GROMACS ``.gro`` alone, ``.xtc``/``.trr`` with a ``.gro`` topology (+ ``.edr`` energies)
``charmm``          CHARMM/NAMD ``.dcd`` with a ``.psf`` topology
``h5md``            H5MD (HDF5) particles and observables
``pdb``             PDB (ATOM/HETATM, CRYST1, MODEL frames)
==================  ===============================================================

Record-level content shared by all trajectory readers is documented in
:mod:`battkg.ingest.md._common`; :mod:`battkg.ingest.md.transport` turns
positions into mean-square displacements, self-diffusion coefficients and
Nernst–Einstein conductivities.

The technique (``battkg ingest md``) turns any of them into a simulation
record: a ``MolecularDynamicsSimulation`` (⊑ EMMO PhysicsBasedSimulation)
linked to the simulated system with EMMO ``hasSimulatedObject`` and to its
settings with EMMO ``hasInput`` (box, timestep, simulated time, temperature,
species counts as ``NumberOfEntities`` with the species as role), with
``numberOfAtoms``/``numberOfFrames``, ``ensemble``, ``thermostat``,
``forceField`` and the simulation software.  The raw file is kept as a blob;
per-frame and thermo arrays go to HDF5 (coordinates only with
``store_positions``).  With the reader option ``transport={species: charge}``
a ``TransportAnalysis`` activity adds per-species MSDs (HDF5), self-diffusion
coefficients and, for charged species, the Nernst–Einstein conductivity.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import MetadataError
from battkg.ingest.technique import Analysis, Derived, Technique, UserMetadata
from battkg.readers import ArrayData, Block, ParsedFile, ScalarQuantity

DEFAULT_FIT_WINDOW = (0.2, 0.8)
MIN_TRANSPORT_FRAMES = 5  # fewer frames leave too few lag times for a line through the fit window
# Unclassified LAMMPS thermo columns by kind (see lammps_log.keyword_kind) -> quantity key.
_KIND_QUANTITY = {"energy": "Energy", "pressure": "Pressure", "distance": "Length", "degree": "Angle",
                  "time": "Time", "cpu_time": "Time", "dimensionless": "PureNumberQuantity"}
_CHARGE = re.compile(r"^\s*([^=:\s]+)\s*(?:[=:]\s*([-+]?\d+(?:\.\d*)?)\s*)?$")


def parse_transport(items: list[str] | tuple[str, ...]) -> dict[str, float | None]:
    """``["Li=+1", "P=-1", "O"]`` → ``{"Li": 1.0, "P": -1.0, "O": None}`` (charges in e; None = D only).

    A species is a label as the trajectory names atoms (element, LAMMPS type, atom type); an ion
    is tracked by one atom, so PF6⁻ is ``P=-1``.
    """
    out: dict[str, float | None] = {}
    for item in items:
        for part in str(item).replace(",", " ").split():
            match = _CHARGE.match(part)
            if not match:
                raise MetadataError("transport", f"{part!r}: expected SPECIES or SPECIES=CHARGE (e.g. Li=+1, P=-1)")
            species, charge = match.group(1), match.group(2)
            if species in out:
                raise MetadataError("transport", f"species {species!r} is named twice")
            out[species] = float(charge) if charge is not None else None
    if not out:
        raise MetadataError("transport", "name at least one species (e.g. --transport Li=+1 --transport P=-1)")
    return out


def _fit_window(user: UserMetadata) -> tuple[float, float]:
    text = user.fields.get("fit_window")
    if not text:
        return DEFAULT_FIT_WINDOW
    try:
        lo, hi = (float(v) for v in text.strip("[]()").split(","))
    except ValueError:
        raise MetadataError("fit_window", f"must be two fractions 'start,end' of the longest lag (got {text!r})") from None
    if not 0 <= lo < hi <= 1:
        raise MetadataError("fit_window", f"must satisfy 0 ≤ start < end ≤ 1 (got {text!r})")
    return lo, hi


@lru_cache(maxsize=16)
def _formulation_of(text: str) -> Any:
    from battkg.formulation import parse_formulation

    try:
        entries = json.loads(text)
    except json.JSONDecodeError:
        raise MetadataError("formulation", "must be a list of components such as "
                            "[{name: LiPF6, amount: 0.1, kind: molPerMol}, ...]") from None
    if not isinstance(entries, list):
        raise MetadataError("formulation", "must be a list of components (name/smiles, amount, kind)")
    return parse_formulation(entries)


def _recordable_quantity(array: ArrayData) -> str | None:
    """Quantity key of an array; for a thermo column the reader left unclassified, by its kind (None: unknown)."""
    if array.quantity:
        return array.quantity
    from battkg.ingest.md.lammps_log import keyword_kind

    return _KIND_QUANTITY.get(keyword_kind(array.name)) if array.unit else None


def _volumes(boxes: np.ndarray) -> np.ndarray:
    """Cell volumes (Å³) of boxes given as rows ``[a b c α β γ]``."""
    a, b, c = boxes[:, 0], boxes[:, 1], boxes[:, 2]
    ca, cb, cg = (np.cos(np.radians(boxes[:, k])) for k in (3, 4, 5))
    return a * b * c * np.sqrt(np.clip(1 - ca**2 - cb**2 - cg**2 + 2 * ca * cb * cg, 0.0, None))


def _temperature_kelvin(parsed: ParsedFile, user: UserMetadata) -> float | None:
    """The simulation temperature: the file's thermostat target, else the user's ``temperature``."""
    from battkg.units import convert

    for source in (parsed.quantities, user.quantities):
        for q in source:
            if q.quantity == "ThermodynamicTemperature" and q.unit != "dimensionless":
                return float(convert(q.value, q.unit, "kelvin"))
    return None


class MdTechnique(Technique):
    """Molecular-dynamics simulations (see the package docstring)."""

    key = "md"
    activity_types = ("MolecularDynamicsSimulation",)
    process_types = ("PhysicsBasedSimulation", "Simulation")
    sample_key = "hasSimulatedObject"
    # The topology is an input of the simulation; the .edr energy file is written by it.
    file_options = {"topology": "input", "energies": "output"}
    parameter_key = "hasInput"
    parameter_kinds = ("ConventionalProperty",)
    observables = ("IonicConductivity", "DiffusionCoefficient")
    user_quantities = {
        "temperature": ("ThermodynamicTemperature", "kelvin", "thermostat"),
        "timestep": ("Timestep", "fs", "integration"),
        "frame_interval": ("Timestep", "ps", "between frames"),
    }
    user_fields: dict[str, tuple[str, ...] | None] = {
        "ensemble": None, "thermostat": None, "force_field": None, "software": None, "software_version": None,
        "formulation": None, "fit_window": None,
    }

    def check(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> None:
        from battkg.ingest.md._common import TrajectoryFile

        if user.conditions:
            raise MetadataError("conditions", "a simulation has no characterisation environment; give the "
                                "thermostat temperature as 'temperature' (K)", source=str(path))
        if "formulation" in user.fields:
            _formulation_of(user.fields["formulation"])
        if not isinstance(parsed, TrajectoryFile) or not parsed.transport:
            if "fit_window" in user.fields:
                _fit_window(user)
            return
        where = str(path)
        n_frames = int(parsed.metadata.get("n_frames", 0))
        if n_frames < MIN_TRANSPORT_FRAMES:
            raise MetadataError("transport", f"needs a trajectory of at least {MIN_TRANSPORT_FRAMES} frames; "
                                f"the file has {n_frames}", source=where)
        if parsed.atom_species is None:
            raise MetadataError("transport", "the trajectory names no species: give --topology", source=where)
        missing = [s for s in parsed.transport if s not in parsed.species_present]
        if missing:
            raise MetadataError("transport", f"no atom of species {', '.join(map(repr, missing))} in the "
                                f"trajectory; species present: {', '.join(parsed.species_present)}", source=where)
        if parsed.times_ps is None and not any(q.quantity == "Timestep" and q.label == "between frames"
                                               for q in user.quantities):
            raise MetadataError("frame_interval", "the trajectory stores no frame times in a known unit: give "
                                "the time between frames (ps) for the MSD", source=where)
        if any(z is not None for z in parsed.transport.values()):
            if parsed.boxes is None:
                raise MetadataError("transport", "Nernst–Einstein needs the box volume; the trajectory has no "
                                    "periodic box", source=where)
            if _temperature_kelvin(parsed, user) is None:
                raise MetadataError("temperature", "Nernst–Einstein needs the temperature (K); the file gives "
                                    "none: give --temperature", source=where)
        _fit_window(user)

    def derive(self, parsed: ParsedFile, user: UserMetadata) -> Derived:
        from battkg.ingest.md._common import TrajectoryFile

        derived = Derived()
        meta = parsed.metadata
        if meta.get("n_atoms") is not None:
            derived.activity["numberOfAtoms"] = int(meta["n_atoms"])
        if meta.get("n_frames") is not None:
            derived.activity["numberOfFrames"] = int(meta["n_frames"])
        if parsed.format_id == "md.lammps.log":
            derived.activity["numberOfThermoRows"] = sum(
                int(np.asarray(b.arrays[0].values).shape[0]) for b in parsed.blocks if b.arrays)
        if meta.get("reduced_units"):
            derived.activity["reducedUnits"] = True
        dropped = [f"{b.name}/{a.name}" for b in parsed.blocks for a in b.arrays if _recordable_quantity(a) is None]
        if dropped:
            derived.warnings.append(f"{len(dropped)} column(s) without a known unit or quantity kept only in the raw "
                                    f"file: {', '.join(dropped[:8])}{' ...' if len(dropped) > 8 else ''}")
        for key, json_key in (("force_field", "forceField"), ("ensemble", "ensemble"), ("thermostat", "thermostat")):
            value = self._file_or_user(meta, user, key, derived.warnings)
            if value:
                derived.activity[json_key] = value
        for species, count in (meta.get("species_counts") or {}).items():
            derived.parameters.append(ScalarQuantity("NumberOfEntities", float(count), "dimensionless", str(species)))
        self._software(meta, user, derived)
        interval = next((q.value for q in user.quantities
                         if q.quantity == "Timestep" and q.label == "between frames"), None)
        has_time = any(q.quantity == "SimulatedTime" for q in parsed.quantities)
        if interval is not None and not has_time and int(meta.get("n_frames", 0)) > 1:
            derived.parameters.append(ScalarQuantity("SimulatedTime", (int(meta["n_frames"]) - 1) * interval, "ps",
                                                     "from the given frame interval"))
        if "formulation" in user.fields:
            formulation = _formulation_of(user.fields["formulation"])
            derived.sample = {"hasFormulation": formulation.iri}
            derived.nodes.extend(formulation.jsonld_nodes())
        if isinstance(parsed, TrajectoryFile) and parsed.transport:
            self._transport(parsed, user, interval, derived)
        return derived

    def for_record(self, parsed: ParsedFile, user: UserMetadata) -> ParsedFile:
        """Drop in-memory coordinates, add the MSD block, make reduced and unclassified values recordable."""
        from battkg.ingest.md._common import TrajectoryFile
        from battkg.ontology import vocabulary
        from battkg.units import same_unit

        vocab = vocabulary()
        warnings = list(parsed.warnings)
        reduced: dict[str, float] = {}

        def recordable(q: ScalarQuantity) -> ScalarQuantity | None:
            label = "thermostat" if q.label == "thermostat target" else q.label  # one role for CQ7 queries
            canonical = vocab.canonical_unit.get(vocab.iri(q.quantity))
            if q.unit == "dimensionless" and canonical and not same_unit(vocab.pint_of_unit[canonical],
                                                                         "dimensionless"):
                # Reduced (LJ) values have no SI unit: kept in rawMetadata, not as quantities.
                reduced[f"{q.quantity}{' ' + label if label else ''}{' (' + q.block + ')' if q.block else ''}"] = q.value
                return None
            return ScalarQuantity(q.quantity, q.value, q.unit, label, q.block)

        blocks: list[Block] = []
        for block in parsed.blocks:
            arrays = []
            for array in block.arrays:
                quantity = _recordable_quantity(array)
                if quantity is not None:  # unclassified columns stay in the raw file (derive() warns)
                    arrays.append(ArrayData(array.name, array.values, quantity, array.unit, array.description))
            block_quantities = []
            for q in block.quantities:
                kept = recordable(ScalarQuantity(q.quantity, q.value, q.unit, q.label, block.name))
                if kept is not None:
                    block_quantities.append(ScalarQuantity(kept.quantity, kept.value, kept.unit, kept.label))
            blocks.append(Block(block.name, arrays, block_quantities, block.metadata))
        quantities = [kept for kept in map(recordable, parsed.quantities) if kept is not None]
        raw = dict(parsed.raw_metadata)
        if reduced:
            raw["reduced_units_values"] = reduced
        metadata = dict(parsed.metadata)
        if not user.sample and not metadata.get("sample_name") and "formulation" in user.fields:
            metadata["sample_name"] = _formulation_of(user.fields["formulation"]).label
        if isinstance(parsed, TrajectoryFile):
            blocks.extend(parsed.extra_blocks)
        return ParsedFile(format_id=parsed.format_id, blocks=blocks, quantities=quantities, metadata=metadata,
                          raw_metadata=raw, warnings=warnings)

    @staticmethod
    def _file_or_user(meta: dict[str, Any], user: UserMetadata, key: str, warnings: list[str]) -> str | None:
        in_file, given = meta.get(key), user.fields.get(key)
        if in_file and given and str(in_file).strip().lower() != given.strip().lower():
            warnings.append(f"conflict: {key} given as {given!r}, but the file says {in_file!r}; the file's value is kept")
        return str(in_file) if in_file else given

    @staticmethod
    def _software(meta: dict[str, Any], user: UserMetadata, derived: Derived) -> None:
        from battkg.ontology import DATA
        from battkg.record import operator_node, slug

        name = meta.get("software") or user.fields.get("software")
        if not name:
            return
        version = meta.get("software_version") or user.fields.get("software_version")
        node_id = f"{DATA}software/{slug(str(name))}/{slug(str(version)) if version else 'unknown-version'}"
        node: dict[str, Any] = {"@id": node_id, "@type": ["SimulationSoftware", "Agent"], "label": str(name)}
        if version:
            # Only a versioned program is a prov:SoftwareAgent (the shapes require its version).
            node["@type"].insert(1, "SoftwareAgent")
            node["softwareVersion"] = str(version)
        derived.nodes.append(node)
        agents = [node_id]
        if user.operator:
            agents.append(operator_node(user.operator)["@id"])
        derived.activity["wasAssociatedWith"] = agents

    @staticmethod
    def _transport(parsed: Any, user: UserMetadata, interval: float | None, derived: Derived) -> None:
        from battkg import __version__
        from battkg.ingest.md.transport import msd_by_species, nernst_einstein_conductivity, self_diffusion

        n_frames = parsed.positions.shape[0]
        times = parsed.times_ps if parsed.times_ps is not None else np.arange(n_frames) * float(interval)
        box = None if parsed.positions_unwrapped else parsed.boxes
        if box is None and not parsed.positions_unwrapped:
            derived.warnings.append("transport: no periodic box; coordinates taken as unwrapped")
        try:
            msds = msd_by_species(parsed.positions, parsed.atom_species, times, box=box, select=list(parsed.transport))
        except ValueError as exc:  # unequal frame spacing, ...
            raise MetadataError("transport", str(exc)) from None
        window = _fit_window(user)
        fits = {name: self_diffusion(msd, window=window) for name, msd in msds.items()}
        first = next(iter(fits.values()))
        lag = next(iter(msds.values())).lag_times
        arrays = [ArrayData("lag_time", lag, "Time", "ps", "MSD lag time")]
        for name, msd in msds.items():
            safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", name)
            arrays.append(ArrayData(f"msd_{safe}", msd.msd / 100.0, "MeanSquareDisplacement", "nanometer**2",
                                    f"all-origin mean-square displacement of species {name} ({msd.n_particles} atoms)"))
        parsed.extra_blocks.append(Block("msd", arrays=arrays))
        outputs = [fit.quantity() for fit in fits.values()]
        parameters = [ScalarQuantity("Time", first.fit_start, "ps", "fit window start"),
                      ScalarQuantity("Time", first.fit_end, "ps", "fit window end")]
        r2 = ", ".join(f"{name} {fit.r_squared:.4f}" for name, fit in fits.items())
        method = (f"Self-diffusion coefficients D = slope/(2·3) of the all-origin mean-square displacement of each "
                  f"species (Einstein relation; FFT algorithm of Calandrini et al. 2011), least-squares line over lag "
                  f"times {first.fit_start:.6g}–{first.fit_end:.6g} ps (fractions {window[0]:g}–{window[1]:g} of the "
                  f"longest lag, {first.n_points} points; R²: {r2}); coordinates "
                  f"{'as unwrapped by the file' if parsed.positions_unwrapped else 'unwrapped by minimum image'}.")
        charged = {s: z for s, z in parsed.transport.items() if z is not None}
        if charged:
            counts = {s: int(parsed.metadata["species_counts"][s]) for s in charged}
            volume = float(np.mean(_volumes(parsed.boxes)))
            temperature = _temperature_kelvin(parsed, user)
            sigma = nernst_einstein_conductivity({s: fits[s].diffusion_coefficient for s in charged}, counts, charged,
                                                 volume, float(temperature))  # type: ignore[arg-type]
            outputs.insert(0, sigma)
            parameters += [ScalarQuantity("ThermodynamicTemperature", float(temperature), "kelvin", "Nernst-Einstein"),
                           ScalarQuantity("Volume", volume, "angstrom**3", "mean box volume")]
            ions = ", ".join(f"{s} (z={z:+g}, N={counts[s]})" for s, z in charged.items())
            method += (f" Ionic conductivity by Nernst–Einstein σ = e²/(V k_B T) Σ N_i z_i² D_i, assuming no ion–ion "
                       f"cross-correlations; V = mean box volume {volume:.6g} Å³, T = {temperature:g} K; each ion "
                       f"tracked by one atom: {ions}.")
        derived.analyses.append(Analysis(
            key="transport", label="Self-diffusion" + (" and Nernst–Einstein conductivity" if charged else ""),
            method=method, outputs=outputs, parameters=parameters, software="battkg", software_version=__version__,
            extra={"@type": ["TransportAnalysis", "AnalysisActivity", "Activity"]}))
        if any(not math.isfinite(q.value) for q in outputs):
            raise MetadataError("transport", "the fit gave a non-finite value (too few frames or no motion?)")


TECHNIQUE = MdTechnique()
