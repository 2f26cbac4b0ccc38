"""Align an operando series with the electrochemistry measured at the same time.

``align_series(repo, record)`` answers the operando question "what was the cell voltage when
pattern i was taken, and where was the reflection then?": one row per pattern with its absolute
time, the time into the cycling/EIS measurement, the voltage and current interpolated there,
and optionally the centroid position of one reflection (e.g. LiNiO2 003 near 18.7° 2θ) whose
shift follows the lattice parameter c.  Everything it needs is in the graph (links, start
times, array descriptions) and in the two records' HDF5 blobs; the 2-D intensity array is read
in row blocks, so memory stays bounded for 10^5 patterns.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import h5py
import numpy as np

from battkg.query import QueryError

_SERIES = """
SELECT ?activity ?started ?sha ?signal ?axis ?elapsed ?linked WHERE { GRAPH ?g {
  ?g battkg:describes ?activity ; dcat:distribution ?h5 .
  ?activity battkg:numberOfPatterns ?n .
  OPTIONAL { ?activity prov:startedAtTime ?started }
  OPTIONAL { ?activity battkg:simultaneousWith ?linked }
  ?h5 dcat:mediaType "application/x-hdf5" ; battkg:sha256 ?sha ;
      battkg:hasArray [ battkg:hdf5Path ?signal ; battkg:shape ?shape ] ,
                      [ battkg:hdf5Path ?elapsed ; battkg:quantityKind ?time_kind ] .
  FILTER(CONTAINS(?shape, ","))
  FILTER(?time_kind = <https://w3id.org/emmo#EMMO_d4f7d378_5e3b_468a_baa1_a7e98358cda7>)
  ?h5 battkg:hasArray [ battkg:hdf5Path ?axis ; battkg:shape ?axis_shape ] .
  FILTER(!CONTAINS(?axis_shape, ",") && ?axis != ?elapsed)
} }"""

_ELECTROCHEMISTRY = """
SELECT ?record ?started ?sha ?path ?kind WHERE { GRAPH ?record {
  ?record battkg:describes ?activity ; dcat:distribution ?h5 .
  OPTIONAL { ?activity prov:startedAtTime ?started }
  ?h5 dcat:mediaType "application/x-hdf5" ; battkg:sha256 ?sha ;
      battkg:hasArray [ battkg:hdf5Path ?path ; battkg:quantityKind ?kind ] .
} }"""

TIME = "https://w3id.org/emmo#EMMO_d4f7d378_5e3b_468a_baa1_a7e98358cda7"
VOLTAGES = ("https://w3id.org/emmo/domain/electrochemistry#electrochemistry_4ebe2ef1_eea8_4b10_822d_7a68215bd24d",
            "https://w3id.org/emmo#EMMO_17b031fb_4695_49b6_bb69_189ec63df3ee")
CURRENTS = ("https://w3id.org/emmo/domain/electrochemistry#electrochemistry_637ee9c4_4b3f_4d3a_975b_c0572dfe53ce",
            "https://w3id.org/emmo#EMMO_c995ae70_3b84_4ebb_bcfc_69e6a281bb88")


def _datetime(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def align_series(repo: Any, record: str, *, peak_window: tuple[float, float] | None = None,
                 rows_per_block: int = 256):  # type: ignore[no-untyped-def]
    """One row per pattern of an operando series record, aligned with its linked electrochemistry.

    Columns: ``pattern``, ``elapsed_time_s``, ``time`` and, when the series is linked
    (``--cycling-record``), ``electrochemistry_time_s``, ``voltage_V``, ``current_A`` (NaN outside
    the electrochemistry record's time span); with ``peak_window=(lo, hi)`` in 2θ degrees also
    ``peak_two_theta`` (background-subtracted intensity centroid of that window).
    """
    import pandas as pd

    from battkg.record import record_id_of, record_iri

    iri = record_iri(record_id_of(record))
    rows = list(repo.graphs.query(_SERIES, graphs=[iri])) if repo.graphs.has_graph(iri) else []
    if not rows:
        raise QueryError(f"record {record!r} is not an operando series in this store")
    series = rows[0]
    if series["started"] is None:
        raise QueryError(f"series {record!r} has no start time (its files carry no measurement times)")
    start = _datetime(series["started"].value)
    with h5py.File(repo.blobs.local_path(series["sha"].value), "r") as h5:
        elapsed = h5[series["elapsed"].value][()]
        axis = h5[series["axis"].value][()]
        table = pd.DataFrame({"pattern": np.arange(elapsed.size), "elapsed_time_s": elapsed})
        table["time"] = [start + timedelta(seconds=float(s)) if np.isfinite(s) else pd.NaT for s in elapsed]
        if peak_window is not None:
            table["peak_two_theta"] = _peak_centroids(h5[series["signal"].value], axis, peak_window, rows_per_block)
    if series["linked"] is None:
        return table
    linked = list(repo.graphs.query(_ELECTROCHEMISTRY.replace("?activity", f"<{series['linked'].value}>")))
    if not linked:
        raise QueryError(f"the electrochemistry measurement linked from {record!r} is not in this store")
    if linked[0]["started"] is None:
        raise QueryError(f"the linked record {linked[0]['record'].value} has no start time; cannot align by time")
    offset = (start - _datetime(linked[0]["started"].value)).total_seconds()
    paths = {row["kind"].value: row["path"].value for row in linked}
    with h5py.File(repo.blobs.local_path(linked[0]["sha"].value), "r") as h5:
        times = h5[paths[TIME]][()]
        table["electrochemistry_time_s"] = offset + elapsed
        for column, kinds in (("voltage_V", VOLTAGES), ("current_A", CURRENTS)):
            path = next((paths[k] for k in kinds if k in paths), None)
            if path is not None:
                values = h5[path][()]
                order = np.argsort(times, kind="stable")
                table[column] = np.interp(offset + elapsed, times[order], values[order], left=np.nan, right=np.nan)
    return table


def _peak_centroids(signal: h5py.Dataset, axis: np.ndarray, window: tuple[float, float],
                    rows_per_block: int) -> np.ndarray:
    """Centroid of each row's intensity above a linear background inside ``window`` (2θ)."""
    lo, hi = sorted(window)
    inside = np.flatnonzero((axis >= lo) & (axis <= hi))
    if inside.size < 3:
        raise QueryError(f"peak window {lo}–{hi}° holds fewer than 3 points of the 2θ axis")
    x = axis[inside]
    centroids = np.empty(signal.shape[0])
    for start in range(0, signal.shape[0], rows_per_block):
        block = signal[start:start + rows_per_block, inside[0]:inside[-1] + 1]
        background = block[:, :1] + (block[:, -1:] - block[:, :1]) * (x - x[0]) / (x[-1] - x[0])
        net = np.clip(block - background, 0, None)
        weight = net.sum(axis=1)
        centroids[start:start + block.shape[0]] = np.where(weight > 0, (net * x).sum(axis=1) / np.where(
            weight > 0, weight, 1), np.nan)
    return centroids
