"""Assertions shared by the bad-input tests of the reader test files."""

from __future__ import annotations

from pathlib import Path

import pytest

from battkg.errors import FormatError
from battkg.readers import detect_reader


def assert_format_error(technique: str, format_id: str, path: Path, *fragments: str) -> FormatError:
    """Reading ``path`` with the given reader raises a FormatError naming the file and every fragment."""
    with pytest.raises(FormatError) as info:
        detect_reader(technique, path, format_id=format_id).read(path)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert str(path) in str(info.value)
    return info.value
