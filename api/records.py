"""Record routes: list, one record (JSON-LD / Turtle / HTML), arrays, raw file, status, export."""

import io
import json
import re
from typing import Annotated, Any

import pyoxigraph as ox
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from battkg.api.deps import AppState, CallerDep, StateDep
from battkg.api.sparql import answer_query
from battkg.errors import RecordNotFound
from battkg.export import (EXPORT_FORMATS, ArrayInfo, FileInfo, RecordInfo, export_record, invenio_record, record_info,
                           write_ro_crate)
from battkg.record import STATUSES, mark_status, record_iri
from battkg.store import Repository

router = APIRouter(tags=["records"])

# Record ids are UUIDs; anything else in the path is refused before it reaches the store.
_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ARRAY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")

_LIST = """
SELECT DISTINCT ?record ?identifier ?title ?technique ?sample ?material ?operator ?status ?access ?created WHERE {
  ?record a battkg:GraphRecord ; dcterms:identifier ?identifier ; dcterms:title ?title ;
          battkg:technique ?technique ; battkg:status ?status ; battkg:accessLevel ?access ;
          dcterms:created ?created ; battkg:describes ?activity .
  ?activity chameo:hasMeasurementSample ?s . ?s rdfs:label ?sample .
  OPTIONAL { ?s battkg:hasMaterial/rdfs:label ?material }
  OPTIONAL { ?activity chameo:hasOperator ?operator OPTIONAL { ?operator rdfs:label ?operatorName } }
  %s
} ORDER BY ?created ?record"""
# Filters per given parameter.  pyoxigraph substitutions bind a variable *after* the FILTERs
# are evaluated, so values are written as terms in their N-Triples form instead: ox.Literal
# escapes quotes and backslashes, so a value can never change the query's structure.
_FILTERS = {
    "technique": "FILTER(?technique = %s)",
    "status": "FILTER(?status = %s)",
    "sample": "FILTER(?sample = %s)",
    "material": "FILTER(LCASE(STR(?material)) = LCASE(%s))",
    "operator": "FILTER(STR(?operator) = %s || STR(?operatorName) = %s)",
    "after": "FILTER(?created >= %s)",
    "before": "FILTER(?created < %s)",
}
_COLUMNS = ("record", "identifier", "title", "technique", "sample", "material", "operator", "status", "access",
            "created")


def checked_id(record_id: str) -> str:
    """The record id if it has the form of one; 404 otherwise (no path tricks reach the store)."""
    if not _ID.match(record_id):
        raise RecordNotFound(f"no record {record_id[:80]!r} (record ids are UUIDs)")
    return record_id


def visible_info(state: AppState, caller: Any, record_id: str) -> RecordInfo:
    """The record's facts, or 404 when it does not exist *or* the caller may not see it."""
    iri = record_iri(checked_id(record_id))
    if not state.visibility.can_see(caller, iri):
        raise RecordNotFound(f"no record {record_id}")
    return record_info(state.repo, record_id)


def _xsd_datetime(value: str, name: str) -> ox.Literal:
    from datetime import datetime

    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name} must be an ISO 8601 date or date-time (got {value!r})") from None
    if len(value) == 10:
        value += "T00:00:00Z"
    return ox.Literal(value, datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime"))


@router.get("/records", summary="List records the caller may see")
def list_records(
    state: StateDep, caller: CallerDep,
    technique: str | None = None, material: str | None = None, operator: str | None = None,
    sample: str | None = None,
    status: Annotated[str, Query(description="active, deleted, invalid or 'all'")] = "active",
    created_after: Annotated[str | None, Query(description="ISO date/date-time, inclusive")] = None,
    created_before: Annotated[str | None, Query(description="ISO date/date-time, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Records filtered by technique, material, operator (ORCID or name), sample, status and creation time; paged."""
    if status != "all" and status not in STATUSES:
        raise HTTPException(422, f"status must be one of {', '.join(STATUSES)} or 'all' (got {status!r})")
    params: dict[str, ox.Literal] = {}
    for name, value in (("technique", technique), ("material", material), ("operator", operator),
                        ("sample", sample), ("status", None if status == "all" else status)):
        if value is not None:
            params[name] = ox.Literal(value)
    if created_after:
        params["after"] = _xsd_datetime(created_after, "created_after")
    if created_before:
        params["before"] = _xsd_datetime(created_before, "created_before")
    filters = "\n  ".join(_FILTERS[k].replace("%s", str(v)) for k, v in params.items())
    view, graphs = state.visibility.dataset_for(caller)
    results = state.repo.graphs.query(_LIST % filters, graphs=graphs, **({"view": view} if view else {}))
    rows = [{c: (sol[c].value if sol[c] is not None else None) for c in _COLUMNS} for sol in results]  # type: ignore[union-attr]
    page = rows[offset:offset + limit]
    return {"total": len(rows), "offset": offset, "limit": limit, "items": page,
            "next": offset + limit if offset + limit < len(rows) else None}


def _wants(request: Request, *candidates: str) -> str | None:
    from battkg.api.sparql import _media_ranges

    for media in _media_ranges(request.headers.get("accept") or "*/*"):
        if media in candidates:
            return media
        if media == "*/*":
            return None
    return None


@router.get("/records/{record_id}", summary="One record: JSON-LD, Turtle or an HTML page")
def get_record(record_id: str, request: Request, state: StateDep, caller: CallerDep,
               format: Annotated[str | None, Query(description="jsonld, turtle or html")] = None) -> Response:
    """JSON-LD by default, Turtle with ``Accept: text/turtle``, an HTML page for browsers."""
    info = visible_info(state, caller, record_id)
    wanted = {"jsonld": "application/ld+json", "turtle": "text/turtle", "html": "text/html"}.get(format or "") or \
        _wants(request, "text/html", "text/turtle", "application/ld+json", "application/json")
    if wanted == "text/html":
        from battkg.api.html import record_page

        return HTMLResponse(record_page(state.repo, info))
    if wanted == "text/turtle":
        media, body = state.repo.graphs.query_serialized(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {ox.NamedNode(info.iri)} {{ ?s ?p ?o }} }}",
            graphs=[info.iri], results_format="text/csv", graph_format="text/turtle")
        return Response(body, media_type=media)
    return JSONResponse(export_record(state.repo, info.id), media_type="application/ld+json")


def _array(info: RecordInfo, name: str) -> ArrayInfo:
    if not _ARRAY_NAME.match(name):
        raise HTTPException(404, f"no array {name[:80]!r} (names look like block.array)")
    matches = [a for a in info.arrays if a.name == name or a.name.rsplit(".", 1)[-1] == name]
    if len(matches) != 1:
        known = ", ".join(a.name for a in info.arrays) or "none"
        raise HTTPException(404, f"record {info.id} has {'several arrays' if matches else 'no array'} "
                                 f"named {name!r}; arrays: {known}")
    return matches[0]


def read_record_array(repo: Repository, info: RecordInfo, array: ArrayInfo) -> Any:
    """The array's values from the record's checksummed HDF5 blob."""
    import h5py

    if info.arrays_file is None:
        raise HTTPException(404, f"record {info.id} has no arrays file")
    data = repo.blobs.open_verified(info.arrays_file.sha256)
    with h5py.File(io.BytesIO(data), "r") as h5:
        return h5[array.hdf5_path][()]


@router.get("/records/{record_id}/arrays/{name}", summary="One array: CSV, JSON, Arrow or Parquet")
def get_array(record_id: str, name: str, request: Request, state: StateDep, caller: CallerDep,
              format: Annotated[str | None, Query(description="csv, json, arrow or parquet")] = None) -> Response:
    """An array the record describes, by name (``block.array``, or ``array`` when unique)."""
    info = visible_info(state, caller, record_id)
    array = _array(info, name)
    values = read_record_array(state.repo, info, array)
    media_by_format = {"csv": "text/csv", "json": "application/json",
                       "arrow": "application/vnd.apache.arrow.file", "parquet": "application/vnd.apache.parquet"}
    if format is not None and format not in media_by_format:
        raise HTTPException(422, f"format must be one of {', '.join(media_by_format)} (got {format!r})")
    media = media_by_format[format] if format else (
        _wants(request, *media_by_format.values()) or "text/csv")
    headers = {"X-Battkg-Unit": array.unit, "X-Battkg-Quantity": array.quantity}
    column = f"{array.name} [{array.unit}]"
    if media == "text/csv":
        import numpy as np

        out = io.StringIO()
        np.savetxt(out, values.reshape(values.shape[0], -1) if values.ndim else values.reshape(1),
                   delimiter=",", header=column, comments="", fmt="%.17g")
        return Response(out.getvalue(), media_type="text/csv", headers=headers)
    if media == "application/json":
        return JSONResponse({"record": info.iri, "name": array.name, "hdf5Path": array.hdf5_path,
                             "quantity": array.quantity, "unit": array.unit, "shape": list(values.shape),
                             "values": values.tolist()}, headers=headers)
    import pyarrow as pa

    flat = values.reshape(values.shape[0], -1) if values.ndim > 1 else values
    arrow_column = pa.array(list(flat)) if values.ndim > 1 else pa.array(flat)
    table = pa.table({column: arrow_column}).replace_schema_metadata(
        {"quantity": array.quantity, "unit": array.unit, "record": info.iri})
    sink = io.BytesIO()
    if media == "application/vnd.apache.parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, sink)
    else:
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return Response(sink.getvalue(), media_type=media, headers=headers)


@router.get("/records/{record_id}/raw", summary="The original instrument file")
def get_raw(record_id: str, state: StateDep, caller: CallerDep) -> Response:
    """The raw file exactly as ingested (checksum verified on read)."""
    info = visible_info(state, caller, record_id)
    if info.raw is None:
        raise HTTPException(404, f"record {info.id} has no raw file")
    return _file_response(state, info.raw)


@router.get("/records/{record_id}/files/{role}", summary="A further file of the record (MD topology, energies)")
def get_companion_file(record_id: str, role: str, state: StateDep, caller: CallerDep) -> Response:
    """A file read with the raw file and kept beside it (``topology``, ``energies``), checksum verified."""
    info = visible_info(state, caller, record_id)
    if role not in info.companions:
        known = ", ".join(sorted(info.companions)) or "none"
        raise HTTPException(404, f"record {info.id} has no {role!r} file (it has: {known})")
    return _file_response(state, info.companions[role])


def _file_response(state: AppState, file: FileInfo) -> Response:
    from battkg.export import _safe_name

    body = state.repo.blobs.open_verified(file.sha256)
    filename = _safe_name(file.name).replace('"', "")
    return Response(body, media_type=file.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Digest": f"sha-256={file.sha256}"})


class StatusChange(BaseModel):
    """A status change: kept as a status event with the reason; nothing is deleted."""

    status: str = Field(description="active, deleted or invalid")
    reason: str = Field(min_length=1, max_length=2000)
    rating: int | None = Field(default=None, ge=1, le=5)


@router.post("/records/{record_id}/status", summary="Mark a record deleted/invalid/active or rate it (token)")
def post_status(record_id: str, change: StatusChange, state: StateDep, caller: CallerDep) -> dict[str, str]:
    """Record a status event (writer or admin); the record stays in the store."""
    caller.require_writer()
    info = visible_info(state, caller, record_id)
    event = mark_status(state.repo, info.id, change.status, change.reason, rating=change.rating)
    return {"record": info.iri, "status": change.status, "event": event}


@router.get("/records/{record_id}/export", summary="Export for archives: JSON-LD, RO-Crate zip, InvenioRDM JSON")
def export(record_id: str, state: StateDep, caller: CallerDep, format: str = "jsonld") -> Response:
    """One record as ``jsonld``, ``ro-crate`` (zip) or ``invenio`` (InvenioRDM record JSON)."""
    info = visible_info(state, caller, record_id)
    return _export_response(state, [info.id], format, info.id)


def _export_response(state: AppState, ids: list[str], format: str, stem: str) -> Response:
    if format == "jsonld":
        return JSONResponse(export_record(state.repo, ids[0]), media_type="application/ld+json")
    if format == "invenio":
        return JSONResponse(invenio_record(state.repo, ids[0]))
    if format == "ro-crate":
        sink = io.BytesIO()
        write_ro_crate(state.repo, ids, sink)
        return Response(sink.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{stem}.crate.zip"'})
    raise HTTPException(422, f"format must be one of {', '.join(EXPORT_FORMATS)} (got {format!r})")


class CampaignExport(BaseModel):
    """A campaign: record ids, or a SPARQL SELECT whose ``?record`` column lists them."""

    records: list[str] = Field(default_factory=list)
    query: str | None = None
    name: str | None = None


@router.post("/export", summary="Export a campaign (records or a query) as one RO-Crate")
async def export_campaign(body: CampaignExport, state: StateDep, caller: CallerDep) -> Response:
    """One RO-Crate zip of many records; a query runs with the caller's visibility like /sparql."""
    ids = [checked_id(r.rsplit("/", 1)[-1]) for r in body.records]
    if body.query:
        answer = await answer_query(state, caller, body.query, "application/sparql-results+json")
        bindings = json.loads(answer.body)["results"]["bindings"]
        if bindings and "record" not in bindings[0]:
            raise HTTPException(422, "the campaign query must project ?record")
        ids += [checked_id(b["record"]["value"].rsplit("/", 1)[-1]) for b in bindings if "record" in b]
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise HTTPException(422, "no records: give 'records' or a 'query' that returns ?record")
    for record_id in ids:
        if not state.visibility.can_see(caller, record_iri(record_id)):
            raise RecordNotFound(f"no record {record_id}")
    sink = io.BytesIO()
    write_ro_crate(state.repo, ids, sink, name=body.name)
    return Response(sink.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="campaign.crate.zip"'})
