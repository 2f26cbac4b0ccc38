"""Raman readers: Renishaw WiRE ``.wdf`` (spectra and maps), Horiba LabSpec text, two-column text.

Arrays: ``raman_shift`` (RamanShift, 1/cm) and ``intensity`` (SpectralIntensity,
count); maps add ``map_x``/``map_y`` (µm) and a 2-D ``intensity`` of shape
(n_spectra, n_points).  Scalar quantities: ``LaserWavelength`` (nm),
``ExposureTime`` (s), ``Accumulations`` (dimensionless).

Technique rules (below): a record is typed CHAMEO ``RamanSpectroscopy`` and
observes vibrational modes.  It needs the laser wavelength (from the file, or
``--laser-wavelength`` / ``laser_wavelength:`` in nm), carries exposure and
accumulations where known, the Raman-shift range, the grating and objective
as named by the file (or the user's ``grating:``), and for a map the number
of spectra and the grid of distinct stage positions (``mapGrid`` "nx,ny";
the coordinates themselves stay in HDF5 as ``map_x``/``map_y``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from battkg.errors import MetadataError
from battkg.ingest.spectra.records import axis_range, points_of, stated, word_from_file_or_user
from battkg.ingest.technique import Derived, Technique, UserMetadata
from battkg.readers import ParsedFile


def _distinct(values: np.ndarray) -> int:
    # Stage positions are written as float32 µm: 1 nm rounding separates real steps from noise.
    return int(np.unique(np.round(np.asarray(values, dtype=np.float64), 3)).size)


class RamanTechnique(Technique):
    key = "raman"
    activity_types = ("RamanSpectroscopy",)
    observables = ("VibrationalModes",)
    user_quantities = {
        "laser_wavelength": ("LaserWavelength", "nm", None),
        "exposure_time": ("ExposureTime", "s", None),
        "accumulations": ("Accumulations", "dimensionless", None),
    }
    user_fields = {"grating": None, "objective": None}

    def check(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> None:
        """Every block needs a Raman-shift and an intensity array; a map needs its stage coordinates."""
        for block in parsed.blocks:
            names = {a.name for a in block.arrays}
            if not {"raman_shift", "intensity"} <= names:
                raise MetadataError(f"block {block.name!r} arrays", "a Raman spectrum needs a Raman-shift and an "
                                    "intensity array", source=str(path))
            if np.asarray(block.array("intensity").values).ndim == 2 and not {"map_x", "map_y"} & names:
                raise MetadataError(f"block {block.name!r} arrays", "a Raman map needs the stage coordinates of "
                                    "its spectra (map_x/map_y)", source=str(path))

    def title(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> str:
        return user.title or f"Raman of {user.sample or parsed.metadata.get('sample_name')} ({path.name})"

    def derive(self, parsed: ParsedFile, user: UserMetadata) -> Derived:
        """Raman-shift range, grating/objective, point and spectrum counts, map grid."""
        derived = Derived(parameters=axis_range(parsed, "raman_shift", "RamanShift", "1/cm"))
        for key in ("grating", "objective"):
            value, _source = word_from_file_or_user(parsed, key, user.fields.get(key), key, derived.warnings)
            if value:
                derived.activity[key] = value
        derived.activity["numberOfPoints"] = sum(points_of(b, "raman_shift") for b in parsed.blocks)
        n_spectra = sum(int(np.prod(np.asarray(b.array("intensity").values).shape[:-1], dtype=int))
                        for b in parsed.blocks)
        derived.activity["numberOfSpectra"] = n_spectra
        block = parsed.blocks[0]
        names = {a.name for a in block.arrays}
        if n_spectra > 1 and {"map_x", "map_y"} <= names:
            derived.activity["mapGrid"] = (f"{_distinct(block.array('map_x').values)},"
                                           f"{_distinct(block.array('map_y').values)}")
        elif stated(parsed, "map_shape") is not None and n_spectra > 1:
            derived.warnings.append("map without both X and Y stage coordinates: mapGrid not set")
        return derived


TECHNIQUE = RamanTechnique()
