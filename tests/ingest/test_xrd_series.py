"""Operando XRD series: many patterns → one record with a 2-D intensity array."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from battkg.cli import app
from battkg.demo import write_operando_series
from battkg.errors import FormatError, MetadataError
from battkg.ingest import series as series_module
from battkg.ingest.pipeline import user_metadata
from battkg.ingest.series import expand_series, ingest_series
from battkg.ingest.xrd import text_xy
from tests.helpers import snapshot

N_POINTS = 300


def _series(tmp_path: Path, n: int = 12, layout: str = "xy") -> Path:
    run = tmp_path / "run"
    write_operando_series(run, n_patterns=n, n_points=N_POINTS, layout=layout)
    return run


def _ingest(repo, run: Path, **options):  # type: ignore[no-untyped-def]
    return ingest_series(repo, "xrd", expand_series(run), user_metadata("xrd", run / "series", {}), **options)


def _h5(repo, record_iri: str) -> Path:  # type: ignore[no-untyped-def]
    rows = list(repo.graphs.query(
        """SELECT ?sha WHERE { GRAPH ?g { ?d <http://www.w3.org/ns/dcat#mediaType> "application/x-hdf5" ;
                                           battkg:sha256 ?sha } }""", graphs=[record_iri]))
    return repo.blobs.path_of(rows[0]["sha"].value)


@pytest.mark.parametrize("layout", ["xy", "xrdml"])
def test_series_is_one_record_with_rows_equal_to_each_members_pattern(repo, tmp_path: Path, layout: str) -> None:
    run = _series(tmp_path, layout=layout)
    result = _ingest(repo, run)
    assert result.created and not result.warnings
    members = expand_series(run)
    with h5py.File(_h5(repo, result.record_iri)) as h5:
        intensity = h5["/series/intensity"][()]
        assert intensity.shape == (len(members), N_POINTS)
        assert h5["/series/intensity"].chunks is not None
        np.testing.assert_allclose(h5["/series/elapsed_time"][()], 60.0 * np.arange(len(members)))
        for row, member in zip(intensity, members):
            from battkg.readers import detect_reader

            parsed = detect_reader("xrd", member, None).read(member)
            np.testing.assert_array_equal(row, parsed.blocks[0].array("intensity").values)
        stored_names = [n.decode() if isinstance(n, bytes) else n for n in h5["/series/member_file"][()]]
        assert stored_names == [m.name for m in members]
    rows = list(repo.graphs.query(
        """SELECT ?n ?shape ?start ?end WHERE { GRAPH ?g {
             ?m battkg:numberOfPatterns ?n ; prov:startedAtTime ?start ; prov:endedAtTime ?end .
             ?a battkg:hdf5Path "/series/intensity" ; battkg:shape ?shape } }""", graphs=[result.record_iri]))
    assert int(rows[0]["n"].value) == len(members)
    assert rows[0]["shape"].value == f"{len(members)},{N_POINTS}"
    assert rows[0]["start"].value.startswith("2026-03-02T09:00:00")
    assert rows[0]["end"].value.startswith("2026-03-02T09:11:00")


def test_raw_members_are_kept_byte_for_byte_in_one_archive(repo, tmp_path: Path) -> None:
    run = _series(tmp_path, n=5)
    result = _ingest(repo, run)
    rows = list(repo.graphs.query(
        """SELECT ?sha WHERE { GRAPH ?g { ?d battkg:originalFileName ?n ; battkg:sha256 ?sha } }""",
        graphs=[result.record_iri]))
    assert len(rows) == 1  # one Distribution for the whole series, not one per pattern
    archive_bytes = repo.blobs.path_of(rows[0]["sha"].value).read_bytes()
    assert hashlib.sha256(archive_bytes).hexdigest() == rows[0]["sha"].value  # hashed while written: must agree
    with tarfile.open(fileobj=io.BytesIO(archive_bytes)) as archive:
        stored = {m.name.split("_", 1)[1]: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]
    assert stored == {p.name: p.read_bytes() for p in expand_series(run)}


def test_members_are_ordered_by_measurement_time_not_file_name(repo, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(series_module, "CHUNK_BYTES", 3 * N_POINTS * 8)  # several chunks: reorder block-wise
    run = _series(tmp_path, n=10)
    members = expand_series(run)
    originals = {p.name: text_xy.read(p).blocks[0].array("intensity").values for p in members}
    # Reverse the names: file-name order is now the opposite of time order.
    for index, path in enumerate(members):
        path.rename(run / f"tmp_{index}.xy")
    renamed = {}
    for index in range(len(members)):
        target = run / f"scan_{len(members) - 1 - index:03d}.xy"
        (run / f"tmp_{index}.xy").rename(target)
        renamed[target.name] = members[index].name
    result = _ingest(repo, run)
    assert any("reordered by their measurement time" in w for w in result.warnings)
    with h5py.File(_h5(repo, result.record_iri)) as h5:
        np.testing.assert_allclose(h5["/series/elapsed_time"][()], 60.0 * np.arange(len(members)))
        names = [n.decode() if isinstance(n, bytes) else n for n in h5["/series/member_file"][()]]
        for row, name in zip(h5["/series/intensity"][()], names):
            np.testing.assert_array_equal(row, originals[renamed[name]])


def test_members_without_times_are_ordered_by_name_with_a_warning(repo, tmp_path: Path) -> None:
    run = _series(tmp_path, n=4)
    for path in expand_series(run):
        path.write_text("\n".join(l for l in path.read_text().splitlines() if "Measurement time" not in l) + "\n")
    result = _ingest(repo, run)
    assert any("carry no measurement time" in w for w in result.warnings)
    with h5py.File(_h5(repo, result.record_iri)) as h5:
        assert np.isnan(h5["/series/elapsed_time"][()]).all()


def test_reingesting_the_same_series_changes_nothing(repo, tmp_path: Path) -> None:
    run = _series(tmp_path, n=4)
    first = _ingest(repo, run)
    before = snapshot(repo)
    again = _ingest(repo, run)
    assert (again.record_id, again.created) == (first.record_id, False)
    assert snapshot(repo) == before


def _replace_member(run: Path, index: int, transform) -> Path:  # type: ignore[no-untyped-def]
    path = expand_series(run)[index]
    path.write_text(transform(path.read_text()))
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("different_axis", "differs from the first member's"),
        ("different_wavelength", "a series is measured with one setting"),
        ("non_numeric_row", "line"),
        ("two_scans", None),
    ],
)
def test_a_bad_member_names_its_file_and_stores_nothing(repo, tmp_path: Path, case: str, message: str | None) -> None:
    run = _series(tmp_path, n=6)
    if case == "different_axis":
        bad = _replace_member(run, 3, lambda t: "\n".join(t.splitlines()[:-10]) + "\n")
    elif case == "different_wavelength":
        bad = _replace_member(run, 4, lambda t: t.replace("Wavelength: 1.5406", "Wavelength: 1.7890"))
    elif case == "non_numeric_row":
        bad = _replace_member(run, 2, lambda t: t.replace("\n", "\n12.5 oops\n", 8)[::1])
    else:
        xrdml_run = tmp_path / "xrdml"
        write_operando_series(xrdml_run, n_patterns=3, n_points=N_POINTS, layout="xrdml")
        bad = expand_series(xrdml_run)[1]
        text = bad.read_text()
        scan = text[text.index("<scan "):text.index("</scan>") + len("</scan>")]
        bad.write_text(text.replace(scan, scan + scan.replace('appendNumber="0"', 'appendNumber="1"')))
        run = xrdml_run
        message = "must hold one pattern"
    before = snapshot(repo)
    with pytest.raises(FormatError) as error:
        _ingest(repo, run)
    assert bad.name in str(error.value)
    assert message in str(error.value)
    assert snapshot(repo) == before


def test_link_to_an_electrochemistry_record_is_checked(repo, tmp_path: Path) -> None:
    run = _series(tmp_path, n=3)
    with pytest.raises(MetadataError, match="no record"):
        _ingest(repo, run, electrochemistry_record="00000000-0000-0000-0000-000000000000")
    xrd_record = _ingest(repo, _series(tmp_path / "other", n=2))
    with pytest.raises(MetadataError, match="is a xrd record, not cycling or EIS"):
        _ingest(repo, run, electrochemistry_record=xrd_record.record_id)


def test_cli_series_ingest_and_argument_errors(tmp_path: Path) -> None:
    run = _series(tmp_path, n=5)
    store = tmp_path / "store"
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "xrd", "--series", str(run / "*.xy"), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "5 patterns" in " ".join(result.output.split())  # rich wraps long lines
    shown = runner.invoke(app, ["records", "show", result.stdout.strip().splitlines()[-1], "--store", str(store)])
    assert '"operando"' in shown.output  # the series sidecar's conditions reached the record
    neither = runner.invoke(app, ["ingest", "xrd", "--store", str(store)])
    assert neither.exit_code == 2 and "either files or --series" in " ".join(neither.output.split())
    link_without_series = runner.invoke(app, ["ingest", "xrd", str(expand_series(run)[0]), "--cycling-record", "x",
                                              "--store", str(store)])
    assert link_without_series.exit_code == 2
    empty = runner.invoke(app, ["ingest", "xrd", "--series", str(tmp_path / "nothing-*.xy"), "--store", str(store)])
    assert empty.exit_code != 0 and "matches no files" in " ".join(empty.output.split())


def test_align_series_tracks_the_003_reflection_moving_as_c_expands(repo, tmp_path: Path) -> None:
    from battkg.query import QueryError, frame
    from battkg.query.operando import align_series

    run = tmp_path / "run"
    write_operando_series(run, n_patterns=9, n_points=3000)
    result = _ingest(repo, run)
    table = align_series(repo, result.record_id, peak_window=(17.5, 19.5), rows_per_block=4)
    assert list(table["pattern"]) == list(range(9))
    np.testing.assert_allclose(table["elapsed_time_s"], 60.0 * np.arange(9))
    # LiNiO2 003: d = c/3; the simulated c grows 1.5 % over the series, so 2θ(003) falls.
    wavelength = 1.5406
    expected = np.degrees(2 * np.arcsin(wavelength / (2 * 14.19 * (1 + 0.015 * np.arange(9) / 8) / 3)))
    np.testing.assert_allclose(table["peak_two_theta"], expected, atol=0.01)
    listed = frame(repo, "operando-series")
    assert int(listed.loc[0, "patterns"]) == 9 and listed.loc[0, "electrochemistry_record"] is None
    with pytest.raises(QueryError, match="not an operando series"):
        align_series(repo, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(QueryError, match="fewer than 3 points"):
        align_series(repo, result.record_id, peak_window=(18.0, 18.01))


def test_series_hdf5_bytes_do_not_depend_on_the_number_of_compression_threads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The HDF5 file is a blob keyed by its checksum: chunks compressed on 1 or 4 threads must land at the
    same places in the file (more threads keep more chunks queued when the other datasets are created)."""
    import battkg.arrays as arrays_module
    from battkg.store import open_repository

    monkeypatch.setattr(series_module, "CHUNK_BYTES", N_POINTS * 8)  # one pattern per chunk: 12 chunks
    run = _series(tmp_path)
    files = []
    for threads in (1, 4):
        monkeypatch.setattr(arrays_module, "DEFLATE_THREADS", threads)
        with open_repository(tmp_path / f"store-{threads}") as repo:
            result = _ingest(repo, run)
            files.append(_h5(repo, result.record_iri).read_bytes())
    assert files[0] == files[1]
