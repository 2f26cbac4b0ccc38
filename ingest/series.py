"""Operando series: a time-ordered set of patterns (or spectra) ingested as one record.

A beamline or lab operando experiment writes one file per pattern, 10^4–10^5 of them.
One record per pattern would drown the graph in near-identical records; instead a series
is one record whose HDF5 holds a 2-D signal array (pattern × axis), the shared axis, the
per-pattern measurement times and each member file's name and SHA-256.  The member files
themselves are kept, byte for byte, in one tar archive blob (one ``Distribution`` in the
graph instead of 10^5).

Memory stays bounded: members are parsed one at a time, rows are buffered into HDF5-chunk
sized blocks and appended to a resizable, chunked dataset, and each raw file is streamed
into the tar.  Only per-member scalars (times, names, checksums) are held for the whole series.

Ordering: members are ordered by their measurement time when every member has one (a
natural file-name order is the fallback, with a warning).  Rows are written in file-name
order while streaming; if the times disagree with that order, the rows are permuted
afterwards block by block (still bounded memory).

Linking: ``electrochemistry_record`` names the cycling/EIS record measured on the same cell
at the same time; the series' measurement gets ``simultaneousWith`` → that measurement, and
its absolute start time plus the per-pattern elapsed times let a query align lattice
evolution with the voltage curve (see ``battkg.query.align_series``).
"""

from __future__ import annotations

import glob
import hashlib
import re
import tarfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

from battkg.arrays import FILTERS, ArrayDescription, ChunkWriter
from battkg.blobs import BlobRef, BlobTransaction, sha256_file
from battkg.errors import FormatError, MetadataError
from battkg.ingest.pipeline import (SIDECAR_SUFFIXES, IngestResult, prepare_record, record_inputs,
                                   validate_and_commit)
from battkg.ingest.technique import UserMetadata, parse_conditions, technique
from battkg.readers import ParsedFile, ReaderInfo, detect_reader
from battkg.record import compute_record_id, record_id_of, record_iri
from battkg.store import Repository

CHUNK_BYTES = 1 << 20  # ~1 MiB HDF5 chunks: whole-pattern rows, good for row and column reads
ELECTROCHEMISTRY_TECHNIQUES = ("cycling", "eis")


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def expand_series(spec: str | Path) -> list[Path]:
    """The member files of a series: all files of a directory, or the matches of a glob pattern.

    Sidecar metadata files are not members.  Naturally sorted (``p2`` before ``p10``).
    """
    spec = str(spec)
    root = Path(spec)
    if root.is_dir():
        candidates = [p for p in root.iterdir() if p.is_file()]
    else:
        candidates = [Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file()]
    members = [p for p in candidates if not p.name.endswith(SIDECAR_SUFFIXES) and not p.name.startswith(".")]
    if not members:
        raise MetadataError("series", f"{spec!r} matches no files (give a directory or a glob such as 'run/*.xy')")
    return sorted(members, key=_natural_key)


@dataclass
class _Member:
    name: str
    sha256: str
    time: datetime | None


class _SeriesWriter:
    """Streams rows into ``/series/<signal>`` (resizable, chunked) with bounded memory."""

    def __init__(self, path: Path, record_attrs: dict[str, str]) -> None:
        self.h5 = h5py.File(path, "w", track_order=True)
        for key, value in record_attrs.items():
            self.h5.attrs[key] = value
        self.group = self.h5.create_group("series")
        self.chunk_writer = ChunkWriter()  # compresses on other cores while the next members are parsed
        self.signal: h5py.Dataset | None = None
        self.rows: list[np.ndarray] = []
        self.written = 0
        self.rows_per_chunk = 1

    def start(self, axis_name: str, axis: np.ndarray, axis_quantity: str, axis_unit: str,
              signal_name: str, signal_quantity: str, signal_unit: str, dtype: np.dtype) -> None:
        n_points = axis.size
        self.rows_per_chunk = max(1, CHUNK_BYTES // (n_points * dtype.itemsize))
        axis_ds = self.group.create_dataset(axis_name, data=axis, track_times=False)
        axis_ds.attrs.update({"quantity": axis_quantity, "unit": axis_unit})
        self.signal = self.group.create_dataset(
            signal_name, shape=(0, n_points), maxshape=(None, n_points), dtype=dtype,
            chunks=(self.rows_per_chunk, n_points), **FILTERS, track_times=False)
        self.signal.attrs.update({"quantity": signal_quantity, "unit": signal_unit})

    def append(self, row: np.ndarray) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.rows_per_chunk:
            self.flush()

    def flush(self) -> None:
        """Queue the buffered rows as one chunk (compressed on the writer's threads)."""
        if not self.rows or self.signal is None:
            return
        block = np.vstack(self.rows)  # one chunk's rows (fewer for the last one)
        self.signal.resize(self.written + block.shape[0], axis=0)
        self.chunk_writer.submit(self.signal, block, self.written)
        self.written += block.shape[0]
        self.rows.clear()

    def finish_rows(self) -> None:
        """Write the last rows and every queued chunk.  Before any other dataset is created: otherwise
        where the last chunks land (and so the file's checksum, its blob key) would depend on the number
        of compression threads."""
        self.flush()
        self.chunk_writer.drain()

    def reorder(self, order: np.ndarray) -> None:
        """Permute rows so row i becomes old row ``order[i]``, one chunk-sized block at a time."""
        assert self.signal is not None
        self.chunk_writer.drain()  # the rows are read back below
        name = self.signal.name
        old = self.signal
        new = self.group.create_dataset(
            name.rsplit("/", 1)[-1] + "__ordered", shape=old.shape, maxshape=old.maxshape, dtype=old.dtype,
            chunks=old.chunks, **FILTERS, track_times=False)
        new.attrs.update(dict(old.attrs))
        for start in range(0, order.size, self.rows_per_chunk):
            wanted = order[start:start + self.rows_per_chunk]
            ascending = np.argsort(wanted)  # h5py reads fancy indices only in increasing order
            rows = old[np.sort(wanted)]
            block = np.empty_like(rows)
            block[ascending] = rows
            self.chunk_writer.submit(new, block, start)
        self.chunk_writer.drain()
        del self.group[name]
        self.group.move(new.name, name)
        self.signal = self.group[name]

    def close(self, *, discard: bool = False) -> None:
        """Write what is queued (nothing if ``discard``: the file is being thrown away) and close."""
        try:
            self.chunk_writer.close(discard=discard)
        finally:
            self.h5.close()


def _electrochemistry_link(repo: Repository, given: str) -> str:
    """IRI of the linked electrochemistry measurement; MetadataError unless such a record exists."""
    iri = record_iri(record_id_of(given))
    rows = list(repo.graphs.query(
        "SELECT ?technique ?activity WHERE { GRAPH ?g { ?g battkg:technique ?technique ; battkg:describes ?activity } }",
        graphs=[iri])) if repo.graphs.has_graph(iri) else []
    if not rows:
        raise MetadataError("cycling-record", f"no record {given!r} in this store (ingest the cycling file first)")
    found = rows[0]["technique"].value
    if found not in ELECTROCHEMISTRY_TECHNIQUES:
        raise MetadataError("cycling-record", f"record {given!r} is a {found} record, not cycling or EIS")
    return rows[0]["activity"].value


def ingest_series(
    repo: Repository,
    technique_key: str,
    paths: list[Path],
    user: UserMetadata,
    *,
    format_id: str | None = None,
    electrochemistry_record: str | None = None,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Ingest ``paths`` (one pattern each) as one series record; atomic like :func:`ingest_file`."""
    t0 = time.perf_counter()
    tech = technique(technique_key)
    if not tech.series_arrays:
        raise MetadataError("series", f"{technique_key} has no series ingest")
    if not paths:
        raise MetadataError("series", "a series needs at least one file")
    axis_name, signal_name = tech.series_arrays
    conditions = parse_conditions(user.conditions)
    linked_activity = _electrochemistry_link(repo, electrochemistry_record) if electrochemistry_record else None
    members: list[_Member] = []
    warnings: list[str] = []
    first: ParsedFile | None = None
    first_path: Path | None = None
    reference_axis: np.ndarray | None = None
    reader_by_suffix: dict[str, ReaderInfo] = {}
    reader_id = ""

    tar_staged = repo.blobs.staging_path(".tar")
    h5_staged = repo.blobs.staging_path(".h5")
    blobs = BlobTransaction(repo.blobs)
    writer = _SeriesWriter(h5_staged, {"battkg_series": technique_key})
    try:
        tar_file = _HashingWriter(tar_staged.open("wb"))  # the archive's checksum without reading it back
        with tar_file, tarfile.open(fileobj=tar_file, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for index, path in enumerate(paths):
                path = Path(path)
                if not path.is_file():
                    raise FormatError(path, "no such file")
                # Content detection per file costs a sniff; members of one series share a format,
                # so the reader found for the first file of a suffix is reused (``--format`` wins).
                reader = (detect_reader(technique_key, path, format_id) if format_id else
                          reader_by_suffix.get(path.suffix.lower()) or detect_reader(technique_key, path, None))
                reader_by_suffix.setdefault(path.suffix.lower(), reader)
                parsed = reader.read(path)
                tech.check(parsed, user, path)
                if len(parsed.blocks) != 1:
                    raise FormatError(path, f"a series member must hold one pattern, this file holds "
                                            f"{len(parsed.blocks)} (ingest it on its own)", reader=reader.info.id)
                block = parsed.blocks[0]
                axis_array, signal_array = block.array(axis_name), block.array(signal_name)
                axis = np.asarray(axis_array.values, dtype=float)
                signal = np.asarray(signal_array.values)
                if first is None:
                    first, first_path, reference_axis, reader_id = parsed, path, axis, reader.info.id
                    writer.start(axis_name, axis, axis_array.quantity, axis_array.unit, signal_name,
                                 signal_array.quantity, signal_array.unit, np.dtype(np.float64))
                else:
                    assert reference_axis is not None and first_path is not None
                    if axis.shape != reference_axis.shape or not (
                            np.array_equal(axis, reference_axis)  # the usual case, and cheaper than allclose
                            or np.allclose(axis, reference_axis, rtol=0, atol=1e-6 * max(1.0, abs(axis[-1])))):
                        raise FormatError(path, f"its {axis_name} axis ({axis.size} points, {axis[0]:g}–{axis[-1]:g}) "
                                                f"differs from the first member's ({first_path.name}: "
                                                f"{reference_axis.size} points); a series shares one axis",
                                          field=axis_name, reader=reader.info.id)
                    _same_instrument_settings(first, parsed, path, first_path)
                writer.append(signal.astype(np.float64, copy=False))
                ref = _add_to_archive(archive, path, index)
                start = parsed.metadata.get("start_time")
                members.append(_Member(path.name, ref.sha256, start if isinstance(start, datetime) else None))
                if progress:
                    progress(index + 1)
        writer.finish_rows()

        # Order by measurement time when every member has one ------------------------------
        times = [m.time for m in members]
        if all(t is not None for t in times):
            epoch = [_as_utc(t).timestamp() for t in times]  # type: ignore[arg-type]
            order = np.argsort(np.asarray(epoch), kind="stable")
            if np.any(order != np.arange(order.size)):
                writer.reorder(order)
                members = [members[i] for i in order]
                warnings.append("members were reordered by their measurement time (file-name order differed)")
        else:
            missing = sum(t is None for t in times)
            warnings.append(f"{missing} of {len(members)} members carry no measurement time; "
                            "ordered by file name, elapsed times left empty (NaN)")
        started = members[0].time
        elapsed = np.array([(_as_utc(m.time) - _as_utc(started)).total_seconds() if m.time and started else np.nan
                            for m in members])
        series_group = writer.group
        elapsed_ds = series_group.create_dataset("elapsed_time", data=elapsed, track_times=False)
        elapsed_ds.attrs.update({"quantity": "Time", "unit": "second",
                                 "description": "time since the first pattern's measurement start"})
        series_group.create_dataset("member_file", data=np.array([m.name for m in members], dtype=h5py.string_dtype()),
                                    track_times=False)
        series_group.create_dataset("member_sha256", data=np.array([m.sha256 for m in members], dtype="S64"),
                                    track_times=False)
        assert first is not None and first_path is not None and writer.signal is not None
        n_patterns, n_points = writer.signal.shape
        axis_attrs = dict(series_group[axis_name].attrs)
        signal_attrs = dict(writer.signal.attrs)
        writer.close()

        # Identity: the ordered member checksums plus the options -------------------------
        series_digest = hashlib.sha256("\n".join(m.sha256 for m in members).encode()).hexdigest()
        options = {"user": user.identity_options(), "format": format_id, "series": True,
                   "electrochemistry_record": electrochemistry_record}
        record_id = compute_record_id(technique_key, series_digest, options)
        iri = record_iri(record_id)
        if repo.graphs.has_graph(iri):
            tar_staged.unlink(missing_ok=True)
            h5_staged.unlink(missing_ok=True)
            return IngestResult(record_id, iri, False, first_path, reader_id)

        prepared = prepare_record(tech, first, user, first_path)
        prepared.derived.activity["numberOfPatterns"] = n_patterns
        if linked_activity:
            prepared.derived.activity["simultaneousWith"] = linked_activity
        prepared.warnings[:0] = warnings  # the series' own warnings (ordering, missing times) first
        sample = prepared.sample
        arrays = [
            ArrayDescription("series", axis_name, f"/series/{axis_name}", str(axis_attrs["quantity"]),
                             str(axis_attrs["unit"]), (n_points,), "float64"),
            ArrayDescription("series", signal_name, f"/series/{signal_name}", str(signal_attrs["quantity"]),
                             str(signal_attrs["unit"]), (n_patterns, n_points), "float64",
                             "one row per pattern, in measurement order"),
            ArrayDescription("series", "elapsed_time", "/series/elapsed_time", "Time", "second", (n_patterns,),
                             "float64", "time since the first pattern's measurement start"),
        ]
        tar_ref = BlobRef(tar_file.digest.hexdigest(), tar_file.size)
        h5_ref = sha256_file(h5_staged)
        inputs = record_inputs(
            tech, technique_key, record_id, prepared, user, first_path,
            title=user.title or f"{technique_key.upper()} operando series of {sample} ({n_patterns} patterns)",
            raw=tar_ref, raw_name=f"{first_path.parent.name or 'series'}.tar", raw_media_type="application/x-tar",
            format_id=reader_id, arrays_blob=h5_ref, arrays=arrays, started=started, ended=members[-1].time,
            options=options, raw_metadata={"first_member": first.raw_metadata, "members": n_patterns}, now=now)

        def add_blobs() -> None:
            blobs.adopt(tar_staged, tar_ref)
            blobs.adopt(h5_staged, h5_ref)

        n_triples = validate_and_commit(repo, inputs, iri, source=str(first_path.parent), add_blobs=add_blobs,
                                        timings={})
    except BaseException:
        try:
            writer.close(discard=True)
        except Exception:  # noqa: BLE001 - already closed or never opened; the original error matters
            pass
        tar_staged.unlink(missing_ok=True)
        h5_staged.unlink(missing_ok=True)
        blobs.rollback()
        raise
    return IngestResult(record_id, iri, True, first_path, reader_id, n_triples, prepared.warnings,
                        {"total": time.perf_counter() - t0})


def _as_utc(moment: datetime) -> datetime:
    # Instrument clocks are often naive local time; comparing within one series only needs consistency.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class _HashingWriter:
    """A binary file that hashes what is written to it."""

    def __init__(self, handle) -> None:  # type: ignore[no-untyped-def]
        self.handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        self.handle.close()

    def __enter__(self) -> "_HashingWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _add_to_archive(archive: tarfile.TarFile, path: Path, index: int) -> BlobRef:
    """Stream one member into the tar, hashing it on the way (one read of the file)."""
    digest = hashlib.sha256()
    size = path.stat().st_size

    class _Hashing:
        def __init__(self, handle) -> None:  # type: ignore[no-untyped-def]
            self.handle = handle

        def read(self, n: int = -1) -> bytes:
            chunk = self.handle.read(n)
            digest.update(chunk)
            return chunk

    info = tarfile.TarInfo(f"{index:06d}_{path.name}")
    info.size = size
    info.mtime = 0  # identical members → identical archive bytes → one blob
    with path.open("rb") as handle:
        archive.addfile(info, _Hashing(handle))  # type: ignore[arg-type]
    return BlobRef(digest.hexdigest(), size)


def _same_instrument_settings(first: ParsedFile, parsed: ParsedFile, path: Path, first_path: Path) -> None:
    """Members must share the settings the record states once (e.g. the wavelength)."""
    reference = {(q.quantity, q.label): (q.value, q.unit) for q in first.quantities}
    for quantity in parsed.quantities:
        key = (quantity.quantity, quantity.label)
        if key in reference:
            value, unit = reference[key]
            if unit == quantity.unit and not np.isclose(value, quantity.value, rtol=1e-6):
                raise FormatError(path, f"{quantity.quantity} {quantity.label or ''} is {quantity.value} {unit}, "
                                        f"the first member ({first_path.name}) says {value} {unit}; "
                                        "a series is measured with one setting", field=quantity.quantity)
