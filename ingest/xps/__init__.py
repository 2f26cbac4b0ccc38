"""XPS: readers in this package (VAMAS, PHI MultiPak .spe, Scienta SES text, SPECS .xy); technique rules below.

A record is typed CHAMEO ``XpsVariableKinetic`` (the only XPS class of
CHAMEO; its altLabel is "X-ray photoelectron spectroscopy (XPS)").  One record
per file; every region/block keeps its arrays (binding energy in eV, counts or
counts/s, kinetic energy where known) in HDF5 and is described in the graph
by a ``SpectralRegion`` node (core level, survey/high-resolution, X-ray source,
analyser and its mode) plus block-level parameters (excitation energy, pass
energy, dwell time, number of scans, work function) and the binding-energy
range.  Blocks of another technique (AES, UPS, SIMS... in VAMAS) are refused:
CHAMEO has no Auger *spectroscopy* class, and a kinetic-energy AES spectrum
labelled XPS would be wrong data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from battkg.errors import MetadataError
from battkg.ingest.spectra.records import axis_range, points_of
from battkg.ingest.technique import Derived, Technique, UserMetadata
from battkg.readers import Block, ParsedFile

from ._common import source_label, technique_family

_INTENSITY = "SpectralIntensity"


def _core_level(block: Block) -> tuple[str | None, str | None]:
    """("C", "C 1s") when the block names an element and an orbital; (None, None) for surveys."""
    species = str(block.metadata.get("species") or "").strip()
    transition = str(block.metadata.get("transition") or "").strip()
    is_element = re.fullmatch(r"[A-Z][a-z]?", species) is not None
    if is_element and transition:
        return species, f"{species} {transition}"
    return (species if is_element else None), None


class XpsTechnique(Technique):
    key = "xps"
    activity_types = ("XPS",)  # context key of chameo:XpsVariableKinetic
    # SEIComposition is not claimed for every XPS file: only a cycled electrode has an SEI.
    observables = ("SurfaceComposition", "BindingEnergy")
    user_quantities = {"excitation_energy": ("ExcitationEnergy", "eV", None)}

    def check(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> None:
        """Refuse non-XPS blocks, blocks without binding energies or counts, and a missing source energy."""
        user_hv = any(q.quantity == "ExcitationEnergy" for q in user.quantities)
        for block in parsed.blocks:
            stated = block.metadata.get("technique") or parsed.metadata.get("technique")
            family = technique_family(str(stated or ""))
            if family != "XPS":
                raise MetadataError(
                    f"block {block.name!r} technique",
                    f"the file says this block is {stated!r}, not XPS; battkg ingests XPS only "
                    "(an AES/UPS spectrum must not be labelled XPS)" if stated else
                    "the file does not say the technique is XPS; battkg does not guess it",
                    source=str(path))
            kinds = {a.quantity for a in block.arrays}
            if "BindingEnergy" not in kinds or _INTENSITY not in kinds:
                raise MetadataError(f"block {block.name!r} arrays",
                                    "an XPS region needs a binding-energy and an intensity array", source=str(path))
            if not user_hv and not any(q.quantity == "ExcitationEnergy" for q in block.quantities):
                raise MetadataError("excitation_energy",
                                    f"block {block.name!r} does not state the X-ray source energy: give "
                                    "--excitation-energy in eV (e.g. 1486.6 for Al Kα)", source=str(path))

    def derive(self, parsed: ParsedFile, user: UserMetadata) -> Derived:
        """Per-region descriptions, the binding-energy range of each region and the total point count."""
        derived = Derived(parameters=axis_range(parsed, "binding_energy", "BindingEnergy", "eV"))
        user_hv = next((q.value for q in user.quantities if q.quantity == "ExcitationEnergy"), None)
        regions: list[dict[str, Any]] = []
        for block in parsed.blocks:
            meta = block.metadata
            element, core_level = _core_level(block)
            hv = next((q.value for q in block.quantities if q.quantity == "ExcitationEnergy"), user_hv)
            region: dict[str, Any] = {
                "@type": "SpectralRegion",
                "block": block.name,
                "label": str(meta.get("region") or block.name),
                "regionKind": meta.get("scan_type"),
                "xraySource": meta.get("source_label") or source_label(hv, None),
                "coreLevel": core_level,
                "element": element,
                "analyser": meta.get("analyser"),
                "analyserMode": meta.get("analyser_mode"),
                "lensMode": meta.get("lens_mode"),
                "numberOfPoints": points_of(block, "binding_energy"),
            }
            regions.append({k: v for k, v in region.items() if v not in (None, "")})
        # axis_range names blocks only when there are several; a region always names its block.
        for quantity in derived.parameters:
            quantity.block = quantity.block or (parsed.blocks[0].name if len(parsed.blocks) == 1 else None)
        derived.activity["hasSpectralRegion"] = regions
        derived.activity["numberOfPoints"] = sum(r["numberOfPoints"] for r in regions)
        sources = {r.get("xraySource") for r in regions}
        if len(sources) == 1 and None not in sources:
            derived.activity["xraySource"] = sources.pop()
        return derived


TECHNIQUE = XpsTechnique()
