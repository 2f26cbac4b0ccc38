"""Pieces shared by the Raman reader modules."""

from __future__ import annotations

import numpy as np

from battkg.readers import ArrayData


def shift_and_intensity(shift: np.ndarray, intensity: np.ndarray, intensity_unit: str = "count") -> list[ArrayData]:
    """The two Raman arrays: ``raman_shift`` (1/cm) and ``intensity``."""
    return [
        ArrayData("raman_shift", np.asarray(shift, dtype=np.float64), "RamanShift", "1/cm", "Raman shift"),
        ArrayData("intensity", np.asarray(intensity, dtype=np.float64), "SpectralIntensity", intensity_unit,
                  "detector intensity"),
    ]
