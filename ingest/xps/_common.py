"""Shared pieces of the XPS readers: energy axes, per-block metadata, quantities.

Every XPS reader produces blocks with the same vocabulary:

* arrays ``binding_energy`` (BindingEnergy, eV), ``kinetic_energy``
  (KineticEnergy, eV, when the file's axis is kinetic or hν is known) and
  ``intensity`` (SpectralIntensity, ``count`` or ``count/s`` as the file says);
* metadata keys ``region``, ``species``, ``transition``, ``scan_type``,
  ``source_label``, ``analyser``, ``analyser_mode``, ``technique``,
  ``n_scans`` and ``raw`` (the vendor keys of that block, verbatim);
* quantities ExcitationEnergy, PassEnergy, DwellTime, NumberOfScans and
  WorkFunction where the file gives them.

Rules used here (and cited by the readers' docstrings):

``scan_type``
    ``"survey"`` when the region/block name contains "survey", "wide" or
    "overview" (case-insensitive) or is a PHI survey name such as ``1su``/
    ``Su1s``, or when the binding-energy span exceeds 400 eV; otherwise
    ``"high-resolution"``.
``source_label``
    Derived from the excitation energy, not from free text: 1486.6–1486.8 eV
    is "Al Kα", 1253.5–1253.7 eV is "Mg Kα"; any other energy keeps the file's
    own label (or none).  The file's label is always kept in ``raw``.
``binding energy from kinetic energy``
    BE = hν − KE.  The work function is *not* subtracted: VAMAS, Scienta and
    SPECS all write kinetic energies already referenced to the Fermi level of
    the spectrometer (a SpecsLab survey of KE 136.61…1486.61 eV at hν 1486.61 eV
    is the BE 1350…0 eV of the same measurement's Prodigy export).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, ScalarQuantity

SURVEY_SPAN_EV = 400.0  # a region wider than this is a survey (documented rule)
VAMAS_MISSING = 1e37  # ISO 14976 writes 1E37 for "value not known"

_SURVEY_NAME = re.compile(r"survey|wide|overview|^\d*su\d*$|^su\d", re.IGNORECASE)
# "C 1s", "C1s", "Fe 2p3/2", "Ag3d", "O KLL": element symbol + core level or Auger line
_SPECIES_TRANSITION = re.compile(
    r"^\s*([A-Z][a-z]?)\s*(\d[spdf](?:\s*\d/2)?|[KLMN]{3}|[KLMN]\d?[KLMN]\d?[KLMN]\d?)\s*$"
)
_SOURCES = ((1486.6, 1486.8, "Al Kα"), (1253.5, 1253.7, "Mg Kα"))


def is_given(value: float | None) -> bool:
    """False for ``None``, NaN and the VAMAS "unknown" marker 1E37."""
    return value is not None and np.isfinite(value) and abs(value) < VAMAS_MISSING * 0.999


def split_region_name(name: str) -> tuple[str, str]:
    """``"Fe2p"`` -> ``("Fe", "2p")``; names that are not a core level give ``("", "")``."""
    match = _SPECIES_TRANSITION.match(name or "")
    if not match:
        return "", ""
    return match.group(1), re.sub(r"\s+", "", match.group(2))


def region_label(species: str, transition: str, fallback: str) -> str:
    """``"C 1s"`` from species and transition; the block name when they are absent.

    VAMAS writers put "None" or "" in the transition of a survey; such a
    placeholder is not part of the label.
    """
    species = (species or "").strip()
    transition = (transition or "").strip()
    if transition.lower() in ("none", "n/a", "-"):
        transition = ""
    if species and transition:
        return f"{species} {transition}"
    return species or fallback


def scan_type(name: str, binding_energy: np.ndarray | None) -> str:
    """``"survey"`` or ``"high-resolution"`` by the rule in the module docstring."""
    if _SURVEY_NAME.search((name or "").strip()):
        return "survey"
    if binding_energy is not None and binding_energy.size:
        if float(np.nanmax(binding_energy) - np.nanmin(binding_energy)) > SURVEY_SPAN_EV:
            return "survey"
    return "high-resolution"


def source_label(excitation_energy: float | None, file_label: str | None) -> str | None:
    """A normalised source label ("Al Kα") from the energy, else the file's label."""
    if is_given(excitation_energy):
        for low, high, label in _SOURCES:
            if low <= float(excitation_energy) <= high:  # type: ignore[arg-type]
                return label
    label = (file_label or "").strip()
    return label or None


def energy_arrays(axis: np.ndarray, kind: str, excitation_energy: float | None, *,
                  path: Path, reader: str, block: str) -> list[ArrayData]:
    """``binding_energy`` (+ ``kinetic_energy``) arrays from the file's energy axis.

    ``kind`` is ``"binding"`` or ``"kinetic"``.  A kinetic axis without a
    photon energy cannot give binding energies: that is a :class:`FormatError`,
    because an XPS block without binding energies is useless downstream.
    """
    axis = np.asarray(axis, dtype=np.float64)
    # Axes built as start + i*step carry float noise (1e-13 eV); files give at most ~6 decimals.
    axis = np.round(axis, 9)
    hv = float(excitation_energy) if is_given(excitation_energy) else None
    if kind == "kinetic":
        if hv is None:
            raise FormatError(path, f"block '{block}': kinetic-energy axis but no excitation energy, "
                              "so binding energies cannot be computed", reader=reader)
        return [
            ArrayData("binding_energy", np.round(hv - axis, 9), "BindingEnergy", "eV",
                      "binding energy = excitation energy - kinetic energy (work function not subtracted)"),
            ArrayData("kinetic_energy", axis, "KineticEnergy", "eV", "kinetic energy as written in the file"),
        ]
    if kind != "binding":  # pragma: no cover - readers only pass the two kinds
        raise ValueError(kind)
    arrays = [ArrayData("binding_energy", axis, "BindingEnergy", "eV", "binding energy as written in the file")]
    if hv is not None:
        arrays.append(ArrayData("kinetic_energy", np.round(hv - axis, 9), "KineticEnergy", "eV",
                                "kinetic energy = excitation energy - binding energy"))
    return arrays


def block_quantities(*, excitation_energy: float | None = None, pass_energy: float | None = None,
                     dwell_time_s: float | None = None, n_scans: float | None = None,
                     work_function: float | None = None) -> list[ScalarQuantity]:
    """The per-block scalar quantities, skipping values the file does not give."""
    out: list[ScalarQuantity] = []
    for key, value, unit in (
        ("ExcitationEnergy", excitation_energy, "eV"),
        ("PassEnergy", pass_energy, "eV"),
        ("DwellTime", dwell_time_s, "s"),
        ("NumberOfScans", n_scans, "dimensionless"),
        ("WorkFunction", work_function, "eV"),
    ):
        if value is not None and is_given(float(value)):
            out.append(ScalarQuantity(key, float(value), unit))
    return out


def block_metadata(*, name: str, species: str, transition: str, binding_energy: np.ndarray,
                   excitation_energy: float | None, file_source_label: str | None,
                   analyser: str | None, analyser_mode: str | None, technique: str | None,
                   n_scans: int | None, raw: dict[str, Any]) -> dict[str, Any]:
    """The normalised per-block metadata dict (``None`` values are left out)."""
    meta: dict[str, Any] = {
        "region": region_label(species, transition, name),
        "species": species or None,
        "transition": transition if transition and transition.lower() != "none" else None,
        "scan_type": scan_type(name, binding_energy),
        "source_label": source_label(excitation_energy, file_source_label),
        "analyser": analyser or None,
        "analyser_mode": analyser_mode or None,
        "technique": technique or None,
        "n_scans": n_scans,
    }
    meta = {k: v for k, v in meta.items() if v is not None}
    meta["raw"] = raw
    return meta


def technique_family(technique: str) -> str:
    """File-level technique from a block technique: "AES diff" -> "AES", "XPS" -> "XPS"."""
    text = (technique or "").strip()
    return text.split()[0].upper() if text else ""


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name #2``, ``name #3`` … when blocks share an identifier."""
    candidate, index = name, 1
    while candidate in taken:
        index += 1
        candidate = f"{name} #{index}"
    taken.add(candidate)
    return candidate
