"""Record-building pieces shared by the XPS, Raman and FTIR technique modules.

The technique modules (``ingest/<technique>/__init__.py``) turn a parsed file
into the technique-specific part of a record; what they share lives here:
the abscissa range of every block as start/end parameters, point counts,
the first value a file states for a metadata key, and the "the file wins over
the user" rule for words (grating, ordinate) that the pipeline applies to
quantities.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from battkg.readers import Block, ParsedFile, ScalarQuantity


def axis_range(parsed: ParsedFile, array: str, quantity: str, unit: str) -> list[ScalarQuantity]:
    """Start and end of the abscissa ``array`` of every block (``block`` set when there are several)."""
    out: list[ScalarQuantity] = []
    for block in parsed.blocks:
        values = np.asarray(block.array(array).values)
        axis = values if values.ndim == 1 else values[0]
        name = block.name if len(parsed.blocks) > 1 else None
        out += [ScalarQuantity(quantity, float(axis[0]), unit, "start", block=name),
                ScalarQuantity(quantity, float(axis[-1]), unit, "end", block=name)]
    return out


def points_of(block: Block, array: str) -> int:
    """Points along the abscissa ``array`` of one block (a map's spectra share the axis)."""
    return int(np.asarray(block.array(array).values).shape[-1])


def stated(parsed: ParsedFile, key: str) -> Any:
    """The file-level value of a metadata key, else the first block's, else None."""
    value = parsed.metadata.get(key)
    if value in (None, "") and parsed.blocks:
        value = parsed.blocks[0].metadata.get(key)
    return value if value not in (None, "") else None


def word_from_file_or_user(parsed: ParsedFile, key: str, given: str | None, field: str,
                           warnings: list[str]) -> tuple[str | None, str]:
    """A descriptive value (grating, ordinate): the file's wins; a different user value is reported.

    Returns the value and where it came from (``"file"`` or ``"user"``).
    """
    in_file = stated(parsed, key)
    if in_file is not None:
        if given and str(given).strip().lower() != str(in_file).strip().lower():
            warnings.append(f"conflict: {field} given as {given!r}, but the file says {in_file!r}; "
                            "the file's value is kept")
        return str(in_file), "file"
    return (given, "user") if given else (None, "user")
