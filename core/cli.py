"""The ``battkg`` command line.

Exit codes scripts can rely on: 0 success (including "record already
exists"), 1 the data is the problem (unreadable file, missing metadata,
shape violation, unknown record), 2 usage, configuration or store problem,
3 not implemented.  Messages go to stderr; results (ids, tables) to stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from battkg import __version__
from battkg.config import default_store_location
from battkg.errors import BattkgError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="battkg — ontology-first knowledge graph for battery research data.")
records_app = typer.Typer(no_args_is_help=True, help="List, show and mark records.")
ontology_app = typer.Typer(no_args_is_help=True, help="Label look-up and the JSON-LD context.")
demo_app = typer.Typer(no_args_is_help=True, help="Example data battkg generates itself.")
app.add_typer(records_app, name="records")
app.add_typer(ontology_app, name="ontology")
app.add_typer(demo_app, name="demo")

err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 160)

StoreOpt = typer.Option(None, "--store", help="Store directory (default: $BATTKG_STORE or ~/.local/share/battkg).")
TECHNIQUES = ("xrd", "xps", "raman", "ftir", "cycling", "eis", "md")


def _fail(exc: BattkgError) -> None:
    err.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(exc.exit_code)


def _repo(store: Optional[str], read_only: bool = False):  # type: ignore[no-untyped-def]
    from battkg.store import open_repository

    return open_repository(store or default_store_location(), read_only=read_only)


def _version(value: bool) -> None:
    if value:
        out.print(f"battkg {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_callback(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                               help="Print the version and exit.")) -> None:
    """battkg — ingest instrument and simulation files as validated, queryable records."""


# ----------------------------------------------------------------------------------------- ingest


@app.command()
def ingest(
    technique: str = typer.Argument(..., help=f"Technique: {', '.join(TECHNIQUES)}."),
    paths: list[Path] = typer.Argument(..., help="Files to ingest (one record each)."),
    sample: Optional[str] = typer.Option(None, help="Sample name or id (e.g. LNO-019)."),
    material: Optional[str] = typer.Option(None, help="Material (formula, name or abbreviation, e.g. LiNiO2)."),
    operator: Optional[str] = typer.Option(None, help="Operator: ORCID iD (https://orcid.org/...) or name."),
    instrument: Optional[str] = typer.Option(None, help="Instrument name (e.g. 'Rigaku SmartLab')."),
    access: str = typer.Option("public", help="public | restricted | confidential."),
    success: Optional[bool] = typer.Option(None, "--success/--failed", help="Whether the measurement succeeded."),
    rating: Optional[int] = typer.Option(None, min=1, max=5, help="Quality rating 1-5."),
    title: Optional[str] = typer.Option(None, help="Record title (default: technique, sample and file)."),
    wavelength: Optional[float] = typer.Option(None, help="XRD: Kα1 wavelength in Å, if the file lacks it."),
    format_id: Optional[str] = typer.Option(None, "--format", help="Reader id; overrides content detection."),
    meta: Optional[Path] = typer.Option(None, "--meta", help="Metadata file (JSON/YAML); default <file>.meta.json."),
    revises: Optional[str] = typer.Option(None, help="Record id this one is a new version of."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Ingest files as validated records; prints one record id per file."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from battkg.ingest.pipeline import SIDECAR_SUFFIXES, ingest_file, user_metadata
    from battkg.ingest.technique import technique as technique_of

    if technique not in TECHNIQUES:
        err.print(f"[bold red]error:[/] unknown technique {technique!r}; choose one of {', '.join(TECHNIQUES)}")
        raise typer.Exit(2)
    try:
        technique_of(technique)
    except KeyError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc.args[0]))}")
        raise typer.Exit(3)
    files = [p for p in paths if not p.name.endswith(SIDECAR_SUFFIXES)]
    cli = {"sample": sample, "material": material, "operator": operator, "instrument": instrument,
           "access": access if access != "public" else None, "success": success, "rating": rating,
           "title": title, "wavelength": wavelength, "revises": revises}
    failures = 0
    try:
        repo = _repo(store)
    except BattkgError as exc:
        _fail(exc)
    with repo, Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeRemainingColumn(), console=err, transient=True, disable=len(files) < 2) as progress:
        task = progress.add_task(f"ingest {technique}", total=len(files))
        for path in files:
            try:
                user = user_metadata(technique, path, cli, meta)
                result = ingest_file(repo, technique, path, user, format_id=format_id)
            except BattkgError as exc:
                failures += 1
                err.print(f"[bold red]error:[/] {escape(str(exc))}")
                if len(files) == 1:
                    raise typer.Exit(exc.exit_code)
            else:
                for warning in result.warnings:
                    err.print(f"[yellow]{escape(str(path))}: {escape(warning)}[/]")
                state = "created" if result.created else "exists (same file and options; nothing changed)"
                err.print(f"{escape(str(path))}: record {result.record_id} {state}")
                out.print(result.record_id, highlight=False)
            progress.advance(task)
    if failures:
        err.print(f"[bold red]{failures} of {len(files)} file(s) failed; nothing was stored for them[/]")
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------- records


@records_app.command("list")
def records_list(
    technique: Optional[str] = typer.Option(None, help="Only this technique."),
    status: Optional[str] = typer.Option("active", help="Only this status (active, deleted, invalid); 'all' for any."),
    output_format: str = typer.Option("table", "--format", help="table | csv | json."),
    store: Optional[str] = StoreOpt,
) -> None:
    """List records."""
    from battkg.query import run

    params = {"technique": technique, "status": None if status == "all" else status}
    try:
        with _repo(store, read_only=True) as repo:
            result = run(repo, "records", {k: v for k, v in params.items() if v is not None})
    except BattkgError as exc:
        _fail(exc)
    columns, rows = result.columns, result.rows
    if output_format == "table":  # the identifier says it all on a terminal; CSV/JSON keep full IRIs
        keep = [i for i, c in enumerate(columns) if c != "record"]
        columns = [columns[i] for i in keep]
        rows = [[r[i] for i in keep] for r in rows]
    _print_result(type(result)(columns, rows), output_format)


@records_app.command("show")
def records_show(record_id: str, store: Optional[str] = StoreOpt) -> None:
    """Print one record as JSON-LD (the same document as `battkg export ID --format jsonld`)."""
    export(record_id, output_format="jsonld", store=store)


@records_app.command("mark")
def records_mark(
    record_id: str,
    status: str = typer.Option(..., help="active | deleted | invalid."),
    reason: str = typer.Option(..., help="Why (kept with the status event)."),
    rating: Optional[int] = typer.Option(None, min=1, max=5, help="Also set the quality rating."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Change a record's status; nothing is deleted, the change is kept as a status event."""
    from battkg.record import mark_status

    try:
        with _repo(store) as repo:
            event = mark_status(repo, record_id, status, reason, rating=rating)
    except BattkgError as exc:
        _fail(exc)
    err.print(f"record {record_id}: status {status} ({event})")


# ------------------------------------------------------------------------------------------ query


def _print_result(result: Any, output_format: str) -> None:
    if output_format == "csv":
        sys.stdout.write(result.to_csv())
    elif output_format == "json":
        sys.stdout.write(result.to_json() + "\n")
    elif output_format == "table":
        table = Table(*result.columns, show_lines=False)
        for row in result.rows:
            table.add_row(*["" if t is None else escape(t.value) for t in row])
        out.print(table)
        err.print(f"{len(result.rows)} row(s)")
    else:
        err.print(f"[bold red]error:[/] unknown format {output_format!r} (table, csv, json)")
        raise typer.Exit(2)


@app.command()
def query(
    sparql: Optional[str] = typer.Argument(None, help="SPARQL SELECT text (or use --name)."),
    name: Optional[str] = typer.Option(None, help="A named query from query/*.rq (see --list)."),
    param: list[str] = typer.Option([], help="Parameter of a named query, NAME=VALUE (repeatable)."),
    output_format: str = typer.Option("table", "--format", help="table | csv | json."),
    list_queries: bool = typer.Option(False, "--list", help="List the named queries and their parameters."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Run a named query or a SPARQL SELECT over all records."""
    from battkg.query import named_queries, run

    if list_queries:
        for q in named_queries().values():
            params = ", ".join(q.params) or "-"
            out.print(f"[bold]{q.name}[/] ({params}): {escape(q.summary)}")
        return
    if not (sparql or name):
        err.print("[bold red]error:[/] give a SPARQL query or --name NAME (see --list)")
        raise typer.Exit(2)
    params: dict[str, str] = {}
    for item in param:
        key, sep, value = item.partition("=")
        if not sep:
            err.print(f"[bold red]error:[/] --param {item!r} must be NAME=VALUE")
            raise typer.Exit(2)
        params[key.strip()] = value
    try:
        with _repo(store, read_only=True) as repo:
            result = run(repo, name or sparql, params)  # type: ignore[arg-type]
    except BattkgError as exc:
        _fail(exc)
    _print_result(result, output_format)


# ----------------------------------------------------------------------------- export / validate


@app.command()
def export(
    record_id: str,
    output_format: str = typer.Option("jsonld", "--format", help="jsonld."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Export one record (JSON-LD, compacted with the battkg context, context inline)."""
    from battkg.export import export_record

    if output_format != "jsonld":
        err.print(f"[bold red]error:[/] export format {output_format!r} is not implemented yet (jsonld)")
        raise typer.Exit(3)
    try:
        with _repo(store, read_only=True) as repo:
            document = export_record(repo, record_id)
    except BattkgError as exc:
        _fail(exc)
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


@app.command()
def validate(path: Path = typer.Argument(..., help="A JSON-LD record (as exported).")) -> None:
    """Validate a JSON-LD record against the battkg shapes: exit 0 conforms, 1 does not."""
    from battkg.record import jsonld_to_quads
    from battkg.validation import validate_graph

    try:
        data = path.read_bytes()
    except OSError as exc:
        err.print(f"[bold red]error:[/] {escape(str(path))}: {exc.strerror}")
        raise typer.Exit(2)
    try:
        quads = jsonld_to_quads(data)
    except SyntaxError as exc:
        err.print(f"[bold red]error:[/] {escape(str(path))}: not valid JSON-LD: {escape(str(exc))}")
        raise typer.Exit(1)
    records = {q.subject.value for q in quads
               if q.predicate.value == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
               and q.object.value == "https://w3id.org/battkg/vocab#GraphRecord"}
    if not records:
        err.print(f"[bold red]error:[/] {escape(str(path))}: no battkg:Record in the document")
        raise typer.Exit(1)
    try:
        warnings = validate_graph(quads, ", ".join(sorted(records)), source=str(path))
    except BattkgError as exc:
        _fail(exc)
    for warning in warnings:
        err.print(f"[yellow]{escape(str(warning))}[/]")
    err.print(f"{escape(str(path))}: conforms ({len(quads)} triples)")


# ---------------------------------------------------------------------------------------- ontology


@ontology_app.command("search")
def ontology_search(
    text: str,
    ontology_dir: Optional[Path] = typer.Option(None, help="Also search the reference BattINFO/EMMO .ttl files here."),
    limit: int = typer.Option(25, help="At most this many hits."),
) -> None:
    """Find ontology terms by label, synonym or abbreviation (EMMO IRIs are opaque)."""
    from battkg.ontology import search

    if ontology_dir is not None and not ontology_dir.is_dir():
        err.print(f"[bold red]error:[/] --ontology-dir {escape(str(ontology_dir))} is not a directory")
        raise typer.Exit(2)
    hits = search(text, ontology_dir, limit)
    if not hits:
        err.print(f"no term matches {text!r}")
        raise typer.Exit(1)
    table = Table("label", "IRI", "parent", "definition", show_lines=True)
    for hit in hits:
        table.add_row(escape(hit.label), escape(hit.iri), escape(", ".join(hit.parents)),
                      escape((hit.definition or "")[:160]))
    out.print(table)


@ontology_app.command("context")
def ontology_context(check: bool = typer.Option(False, help="Fail if the committed context is out of date.")) -> None:
    """Regenerate ontology/context.jsonld from ontology/battkg.ttl (or --check it)."""
    from battkg.ontology import CONTEXT_PATH, generate_context, write_context

    if check:
        committed = json.loads(CONTEXT_PATH.read_text())["@context"]
        if committed != generate_context():
            err.print("[bold red]error:[/] ontology/context.jsonld is out of date: run `battkg ontology context`")
            raise typer.Exit(1)
        err.print("context is up to date")
        return
    write_context()
    err.print(f"wrote {CONTEXT_PATH}")


# ------------------------------------------------------------------------------------ serve / gc / demo


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(8000, help="TCP port."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Serve the SPARQL 1.1 endpoint (/sparql) over the store."""
    import uvicorn

    from battkg.api.app import create_app

    try:
        repo = _repo(store)
    except BattkgError as exc:
        _fail(exc)
    err.print(f"battkg {__version__}: SPARQL endpoint at http://{host}:{port}/sparql (store {repo.location})")
    uvicorn.run(create_app(repo=repo), host=host, port=port, log_level="warning")


@app.command()
def gc(dry_run: bool = typer.Option(False, help="Only list what would be removed."),
       store: Optional[str] = StoreOpt) -> None:
    """Remove blobs no record references (left by failed or interrupted ingests)."""
    try:
        with _repo(store) as repo:
            referenced = {sol["sha"].value for sol in repo.graphs.query(
                "SELECT DISTINCT ?sha WHERE { ?d battkg:sha256 ?sha }")}
            removed = repo.blobs.garbage_collect(referenced, dry_run=dry_run)
    except BattkgError as exc:
        _fail(exc)
    verb = "would remove" if dry_run else "removed"
    err.print(f"{verb} {len(removed)} unreferenced blob(s)")
    for key in removed:
        out.print(key)


@demo_app.command("generate")
def demo_generate(directory: Path = typer.Argument(Path("demo-data"), help="Where to write the example files.")) -> None:
    """Write simulated example files (XRD patterns in .xy/.xye/.csv with metadata sidecars)."""
    from battkg.demo import write_demo_files

    for path in write_demo_files(directory):
        out.print(str(path))


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
