"""X-ray diffraction: readers in this package, technique rules below.

A lab powder pattern is typed ``XrayPowderDiffraction`` (⊑ ``XrayDiffraction``);
the record carries the wavelength(s), the 2θ range and step, the point count
and the anode/radiation where known, and points to the HDF5 arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from battkg.errors import MetadataError
from battkg.ingest.technique import Derived, Technique, UserMetadata
from battkg.readers import ParsedFile, ScalarQuantity


class XrdTechnique(Technique):
    key = "xrd"
    activity_types = ("XrayPowderDiffraction", "XrayDiffraction")
    observables = ("CrystalStructure", "LatticeParameter", "PhaseComposition")
    user_quantities = {"wavelength": ("Wavelength", "angstrom", "Kα1")}
    series_arrays = ("two_theta", "intensity")

    def check(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> None:
        for block in parsed.blocks:
            names = {a.name for a in block.arrays}
            if not {"two_theta", "intensity"} <= names:
                raise MetadataError("arrays", f"block {block.name!r} lacks a 2θ or intensity array", source=str(path))

    def derive(self, parsed: ParsedFile, user: UserMetadata) -> Derived:
        derived = Derived()
        for block in parsed.blocks:
            two_theta = np.asarray(block.array("two_theta").values)
            axis = two_theta if two_theta.ndim == 1 else two_theta[0]
            name = block.name if len(parsed.blocks) > 1 else None
            derived.parameters += [
                ScalarQuantity("TwoTheta", float(axis[0]), "degree", "start", block=name),
                ScalarQuantity("TwoTheta", float(axis[-1]), "degree", "end", block=name),
                ScalarQuantity("TwoTheta", float(np.median(np.diff(axis))), "degree", "step", block=name),
            ]
        n_points = sum(int(np.asarray(b.array("intensity").values).size) for b in parsed.blocks)
        derived.activity["numberOfPoints"] = n_points
        for key, json_key in (("anode", "anode"), ("radiation", "radiation"), ("scan_axis", "scanAxis"),
                              ("scan_mode", "scanMode")):
            value = parsed.metadata.get(key) or (parsed.blocks[0].metadata.get(key) if parsed.blocks else None)
            if value:
                derived.activity[json_key] = str(value)
        return derived


TECHNIQUE = XrdTechnique()
