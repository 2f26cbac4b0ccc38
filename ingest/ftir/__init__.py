"""FTIR readers: JCAMP-DX, Thermo Galactic SPC, Thermo OMNIC SPA, Agilent ASP, Bruker OPUS, two-column text.

Every reader returns one block per spectrum with ``wavenumber`` (Wavenumber,
1/cm) and one ordinate array whose quantity is ``Absorbance``,
``Transmittance`` or ``Reflectance`` as stated by the file, with
``metadata['ordinate']`` and ``metadata['ordinate_source']``.  When the file
does not state it, ``metadata['ordinate']`` is None, the array is
``SpectralIntensity`` and a warning asks the user to say.

Technique rules (below): a record is typed CHAMEO
``FourierTransformInfraredSpectroscopy`` and observes vibrational modes.  Its
ordinate must be known — never guessed: the file's statement wins; otherwise
the user states it (``--ordinate`` or ``ordinate:`` in the metadata file) and
the intensity array is relabelled accordingly; otherwise ingest stops with a
MetadataError naming the file and the ``ordinate`` field.  Resolution and
number of scans become parameters where the file gives them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from battkg.errors import MetadataError
from battkg.ingest.spectra.common import ordinate_array, ordinate_from_kind
from battkg.ingest.spectra.records import axis_range, points_of, stated, word_from_file_or_user
from battkg.ingest.technique import Derived, Technique, UserMetadata
from battkg.readers import ParsedFile, ScalarQuantity

ORDINATES = ("absorbance", "transmittance", "reflectance")
_USER_SOURCE = "the user's 'ordinate' (option or metadata file)"


def _resolution(parsed: ParsedFile) -> float | None:
    """Resolution in 1/cm: a number, or SPC text such as '4.0 CM-1' / '.001' (SPC states it in 1/cm)."""
    value = stated(parsed, "resolution_cm-1")
    if value is None:
        value = stated(parsed, "resolution")
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    match = re.match(r"\s*(\d*\.?\d+(?:[eE][-+]?\d+)?)\s*(?:cm-1|1/cm|cm\^-1)?\s*$", str(value or ""), re.IGNORECASE)
    return float(match.group(1)) if match and float(match.group(1)) > 0 else None


class FtirTechnique(Technique):
    key = "ftir"
    activity_types = ("FourierTransformInfraredSpectroscopy",)
    observables = ("VibrationalModes",)
    user_fields = {"ordinate": ORDINATES}

    def check(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> None:
        """The ordinate must be stated by the file or by the user; every block needs its two arrays."""
        for block in parsed.blocks:
            if "wavenumber" not in {a.name for a in block.arrays} or len(block.arrays) < 2:
                raise MetadataError(f"block {block.name!r} arrays", "an FTIR spectrum needs a wavenumber and an "
                                    "ordinate array", source=str(path))
        if stated(parsed, "ordinate") is None and not user.fields.get("ordinate"):
            where = stated(parsed, "ordinate_source") or "the file"
            raise MetadataError("ordinate", f"{where} does not say whether the spectrum is absorbance, "
                                "transmittance or reflectance; give --ordinate (absorbance|transmittance|"
                                "reflectance) or 'ordinate:' in the metadata file", source=str(path))

    def title(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> str:
        return user.title or f"FTIR of {user.sample or parsed.metadata.get('sample_name')} ({path.name})"

    def derive(self, parsed: ParsedFile, user: UserMetadata) -> Derived:
        """Ordinate (relabelling an unknown one as the user states), wavenumber range, resolution, scans.

        When the file does not state the ordinate, the reader's ``SpectralIntensity``
        array is replaced in ``parsed`` by the stated quantity before the arrays are written.
        """
        derived = Derived()
        ordinate, origin = word_from_file_or_user(parsed, "ordinate", user.fields.get("ordinate"), "ordinate",
                                                  derived.warnings)
        if ordinate is None:  # check() refuses such a file; derive() called alone must not guess either
            raise MetadataError("ordinate", "the ordinate is stated neither by the file nor by the user")
        if origin == "user":
            for block in parsed.blocks:
                index = next(i for i, a in enumerate(block.arrays) if a.name != "wavenumber")
                y = np.asarray(block.arrays[index].values)
                stated_ordinate = ordinate_from_kind(ordinate, y, _USER_SOURCE, percent=None)
                if stated_ordinate.warning:
                    derived.warnings.append(stated_ordinate.warning)
                block.arrays[index] = ordinate_array(y, stated_ordinate)
                block.metadata.update(ordinate=ordinate, ordinate_source=_USER_SOURCE)
            derived.warnings.append(f"ordinate set to {ordinate} as the user stated (the file does not say)")
            source = _USER_SOURCE
        else:
            source = str(stated(parsed, "ordinate_source") or "the file")
        derived.activity.update(ordinate=ordinate, ordinateSource=source)
        derived.parameters = axis_range(parsed, "wavenumber", "Wavenumber", "1/cm")
        resolution = _resolution(parsed)
        if resolution is not None:
            derived.parameters.append(ScalarQuantity("SpectralResolution", resolution, "1/cm"))
        scans = stated(parsed, "n_scans")
        if scans:
            derived.parameters.append(ScalarQuantity("NumberOfScans", float(scans), "dimensionless"))
        derived.activity["numberOfPoints"] = sum(points_of(b, "wavenumber") for b in parsed.blocks)
        derived.activity["numberOfSpectra"] = len(parsed.blocks)
        return derived


TECHNIQUE = FtirTechnique()
