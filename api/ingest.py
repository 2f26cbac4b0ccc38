"""``POST /ingest/{technique}``: multipart upload through the one ingest path.

Files are streamed into the store's staging directory under a size limit,
then each goes through :func:`battkg.ingest.pipeline.ingest_file` exactly as
on the command line (same validation, same messages).  A request is all or
nothing: if any file fails, the records this request created are removed
again (graph and the blobs only they referenced), and the answer is a 422
listing every failure.
"""

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from battkg.api.deps import CallerDep, StateDep
from battkg.errors import BattkgError
from battkg.export import _safe_name
from battkg.store import Repository

router = APIRouter(tags=["ingest"])
FORM_FIELDS = ("sample", "material", "operator", "instrument", "access", "success", "rating", "title", "revises")
# Fields that steer the reader rather than describe the record (as the CLI's --format, --column-map, --reader-option).
READER_FIELDS = ("format", "column_map", "reader_option")


def _undo(repo: Repository, record_iris: list[str]) -> None:
    """Remove records created by a failed request, and blobs no remaining record references."""
    if not record_iris:
        return
    referenced_before = {sol["sha"].value for sol in repo.graphs.query(  # type: ignore[union-attr]
        "SELECT DISTINCT ?sha WHERE { ?d battkg:sha256 ?sha }", graphs=record_iris)}
    for iri in record_iris:
        repo.graphs.update(f"DROP SILENT GRAPH <{iri}>")
    still = {sol["sha"].value for sol in repo.graphs.query(  # type: ignore[union-attr]
        "SELECT DISTINCT ?sha WHERE { ?d battkg:sha256 ?sha }")}
    for sha in referenced_before - still:
        repo.blobs.remove(sha)


async def _save(upload: UploadFile, folder: Path, limit: int, used: int) -> tuple[Path, int]:
    name = _safe_name(upload.filename or "upload")
    target = folder / name
    if target.exists():
        raise HTTPException(422, f"two uploaded files are named {name!r}")
    size = used
    with open(target, "wb") as out:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"upload is over the limit of {limit} bytes")
            out.write(chunk)
    return target, size


@router.post("/ingest/{technique}", summary="Upload files as records (token)")
async def ingest_upload(technique: str, request: Request, state: StateDep, caller: CallerDep) -> JSONResponse:
    """Multipart: one or more ``file`` parts, metadata as form fields (sample, material, operator, instrument,
    access, rating, success, title, technique quantities such as XRD ``wavelength``) or a JSON ``metadata`` part.
    Reader settings as on the CLI: ``format`` (reader id), ``column_map`` (ARRAY=COLUMN, repeatable; implies the
    generic cycling CSV reader) and ``reader_option`` (NAME=VALUE, repeatable). For MD, ``topology`` /
    ``energies`` name another uploaded part (e.g. ``conf.gro`` beside ``traj.xtc``).
    """
    from battkg.readers import parse_reader_options
    from battkg.ingest.pipeline import SIDECAR_SUFFIXES, ingest_file, user_metadata
    from battkg.ingest.technique import technique as technique_of

    caller.require_writer()
    try:
        tech = technique_of(technique)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise HTTPException(415, "upload files as multipart/form-data (parts named 'file')")
    limit = state.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + (1 << 16):  # multipart framing on top of the files
        raise HTTPException(413, f"upload of {declared} bytes is over the limit of {limit} bytes")
    form = await request.form(max_files=1000, max_fields=100)
    overrides: dict[str, Any] = {}
    if isinstance(form.get("metadata"), str):
        try:
            overrides.update(json.loads(form["metadata"]))  # type: ignore[arg-type]
        except json.JSONDecodeError as exc:
            raise HTTPException(422, f"metadata part is not valid JSON: {exc}") from None
    known = set(FORM_FIELDS) | set(tech.user_quantities) | set(READER_FIELDS) | set(tech.file_options)
    # A technique's ``file_options`` (MD topology, energies) name another uploaded part: that part is
    # read with every data file, not ingested on its own.
    reader_texts: dict[str, list[str]] = {name: [] for name in (*READER_FIELDS, *tech.file_options)}
    for key, value in form.multi_items():
        if isinstance(value, str) and key != "metadata":
            if key not in known:
                raise HTTPException(422, f"unknown form field {key!r}; known: {', '.join(sorted(known))}")
            if key in reader_texts:
                reader_texts[key].append(value)
            else:
                overrides[key] = value
    try:
        reader_options = parse_reader_options(technique, reader_texts["reader_option"])
    except BattkgError as exc:
        raise HTTPException(422, str(exc)) from None
    format_id = reader_texts["format"][-1] if reader_texts["format"] else None
    if reader_texts["column_map"]:
        malformed = [c for c in reader_texts["column_map"] if "=" not in c]
        if malformed:
            raise HTTPException(422, f"column_map {malformed[0]!r}: expected ARRAY=COLUMN")
        reader_options["columns"] = dict(c.split("=", 1) for c in reader_texts["column_map"])
        format_id = format_id or "cycling.generic.csv"
    if isinstance(overrides.get("success"), str):
        overrides["success"] = overrides["success"].lower() in ("1", "true", "yes")
    uploads = [v for k, v in form.multi_items() if k == "file" and isinstance(v, UploadFile)]
    if not uploads:
        raise HTTPException(422, "no files: send one or more multipart parts named 'file'")
    folder = state.repo.blobs.tmp_dir / f"upload-{uuid.uuid4().hex}"
    folder.mkdir()
    created: list[str] = []
    results: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    try:
        used = 0
        paths = []
        for upload in uploads:
            path, used = await _save(upload, folder, limit, used)
            paths.append(path)
        companions: set[Path] = set()
        for key in tech.file_options:
            if reader_texts[key]:
                wanted = folder / _safe_name(reader_texts[key][-1])
                if wanted not in paths:
                    raise HTTPException(422, f"{key} {reader_texts[key][-1]!r} is not one of the uploaded files "
                                        f"({', '.join(p.name for p in paths)})")
                reader_options[key] = str(wanted)
                companions.add(wanted)

        def ingest_all() -> None:
            for path in paths:
                if path.name.endswith(SIDECAR_SUFFIXES) or path in companions:
                    continue  # read by user_metadata / the reader next to its data file
                try:
                    user = user_metadata(technique, path, overrides)
                    result = ingest_file(state.repo, technique, path, user, format_id=format_id,
                                         reader_options=reader_options or None)
                except BattkgError as exc:
                    errors.append({"file": path.name, "error": str(exc).replace(str(folder) + "/", "")})
                    continue
                if result.created:
                    created.append(result.record_iri)
                results.append({"file": path.name, "record": result.record_id, "created": result.created,
                                "warnings": result.warnings})

        # Parsing and validation are CPU work: off the event loop, so queries keep being served.
        await run_in_threadpool(ingest_all)
        if errors:
            _undo(state.repo, created)
            return JSONResponse({"detail": "nothing was stored", "errors": errors}, status_code=422)
    except BaseException:
        _undo(state.repo, created)
        raise
    finally:
        await form.close()
        shutil.rmtree(folder, ignore_errors=True)
    return JSONResponse({"records": results}, status_code=201 if created else 200)
