"""Reader detection for XRD: every MANIFEST sample goes to the right reader, also when renamed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from battkg.errors import FormatError
from battkg.readers import detect_reader, readers_for
from tests.conftest import manifest_entries, requires_shared_samples, sample_path

# MANIFEST "format" prefix -> reader id (the text formats go to the generic text reader).
EXPECTED = {
    "panalytical-xrdml": "xrd.panalytical.xrdml",
    "bruker-raw": "xrd.bruker.raw",
    "bruker-brml": "xrd.bruker.brml",
    "rigaku-rasx": "xrd.rigaku.rasx",
    "nexus-hdf5": "xrd.nexus.nxs",
    "xy": "xrd.text.xy",
    "xye": "xrd.text.xy",
}
CONTENT_DETECTED = ("panalytical-xrdml", "bruker-raw", "bruker-brml", "rigaku-rasx", "nexus-hdf5")


def _expected(entry: dict) -> str:
    for prefix, reader_id in EXPECTED.items():
        if entry["format"].startswith(prefix):
            return reader_id
    raise AssertionError(f"no expected reader for MANIFEST format {entry['format']!r}; add it to EXPECTED")


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("xrd"))
def test_detect_reader_picks_the_right_reader(entry: dict) -> None:
    assert detect_reader("xrd", sample_path(entry)).info.id == _expected(entry)


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("xrd", formats=CONTENT_DETECTED))
@pytest.mark.parametrize("new_name", ["x.dat", "x.raw", "noext"])
def test_renamed_vendor_file_is_detected_by_content(tmp_path: Path, entry: dict, new_name: str) -> None:
    """A vendor file under another (or another vendor's) suffix still reaches its reader and reads."""
    copy = tmp_path / new_name
    shutil.copyfile(sample_path(entry), copy)
    reader = detect_reader("xrd", copy)
    assert reader.info.id == _expected(entry)
    assert reader.read(copy).blocks


def test_every_vendor_reader_declares_content_detection_and_beats_the_text_fallback() -> None:
    readers = {r.info.id: r.info for r in readers_for("xrd")}
    assert set(EXPECTED.values()) <= set(readers)
    for reader_id in set(EXPECTED.values()) - {"xrd.text.xy"}:
        info = readers[reader_id]
        assert info.magic or info.sniff, reader_id
        assert info.priority < readers["xrd.text.xy"].priority, reader_id


def test_zip_of_something_else_is_not_claimed(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<doc/>")
    with pytest.raises(FormatError, match="no xrd reader recognises this file"):
        detect_reader("xrd", path)
