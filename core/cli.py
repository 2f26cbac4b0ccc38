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
users_app = typer.Typer(no_args_is_help=True, help="API users, roles and bearer tokens (stored hashed).")
app.add_typer(users_app, name="users")
app.add_typer(records_app, name="records")
app.add_typer(ontology_app, name="ontology")
app.add_typer(demo_app, name="demo")

# Messages are never hard-wrapped: an error names file and line, and logs are grepped for them.
err = Console(stderr=True, soft_wrap=True)
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
    technique: str = typer.Argument(..., help=f"Technique: {', '.join(TECHNIQUES)}, or finales (broker JSON)."),
    paths: Optional[list[Path]] = typer.Argument(None, help="Files to ingest (one record each)."),
    sample: Optional[str] = typer.Option(None, help="Sample name or id (e.g. LNO-019)."),
    material: Optional[str] = typer.Option(None, help="Material (formula, name or abbreviation, e.g. LiNiO2)."),
    operator: Optional[str] = typer.Option(None, help="Operator: ORCID iD (https://orcid.org/...) or name."),
    instrument: Optional[str] = typer.Option(None, help="Instrument name (e.g. 'Rigaku SmartLab')."),
    access: str = typer.Option("public", help="public | restricted | confidential."),
    success: Optional[bool] = typer.Option(None, "--success/--failed", help="Whether the measurement succeeded."),
    rating: Optional[int] = typer.Option(None, min=1, max=5, help="Quality rating 1-5."),
    title: Optional[str] = typer.Option(None, help="Record title (default: technique, sample and file)."),
    wavelength: Optional[float] = typer.Option(None, help="XRD: Kα1 wavelength in Å, if the file lacks it."),
    excitation_energy: Optional[float] = typer.Option(None, help="XPS: X-ray source energy in eV, if the file lacks it."),
    laser_wavelength: Optional[float] = typer.Option(None, help="Raman: laser wavelength in nm, if the file lacks it."),
    ordinate: Optional[str] = typer.Option(
        None, help="FTIR: absorbance | transmittance | reflectance, when the file does not say."),
    topology: Optional[Path] = typer.Option(None, help="MD: topology of a trajectory (.gro for .xtc/.trr, "
                                            "LAMMPS data file for a dump, .psf for a .dcd)."),
    energies: Optional[Path] = typer.Option(None, help="MD: GROMACS .edr energy file of the run (thermo time "
                                            "series to HDF5)."),
    transport: Optional[list[str]] = typer.Option(
        None, help="MD: species for self-diffusion, SPECIES or SPECIES=CHARGE for Nernst-Einstein (repeatable, "
                   "e.g. --transport Li=+1 --transport P=-1)."),
    store_positions: bool = typer.Option(False, "--store-positions", help="MD: copy coordinates into the HDF5 file."),
    temperature: Optional[float] = typer.Option(None, help="MD: thermostat temperature in K, if the file lacks it."),
    timestep: Optional[float] = typer.Option(None, help="MD: integration timestep in fs, if the file lacks it."),
    frame_interval: Optional[float] = typer.Option(None, help="MD: time between frames in ps, if the file lacks it."),
    ensemble: Optional[str] = typer.Option(None, help="MD: ensemble (NVT, NPT, ...), if the file does not say."),
    force_field: Optional[str] = typer.Option(None, help="MD: force-field name, if the file does not say."),
    formation_cycles: Optional[int] = typer.Option(
        None, min=0, help="Cycling: formation cycles before the end-of-life reference cycle (default 3)."),
    column_map: Optional[list[str]] = typer.Option(
        None, help="Cycling generic CSV: ARRAY=COLUMN (repeatable; time, voltage, current required), "
                   "e.g. --column-map time='Test Time (s)'."),
    reader_option: Optional[list[str]] = typer.Option(
        None, help="A reader setting the file cannot give, NAME=VALUE (repeatable): test_id=2 (Arbin .res/.h5), "
                   "channel=Channel_1-005 (Arbin .xlsx), time_unit=min (Maccor), units.current=mA, current_sign=-1, "
                   "cycle_base=0, delimiter=';' (generic CSV). Unknown names are refused."),
    cell_constant: Optional[str] = typer.Option(
        None, help="EIS: conductivity-cell constant with its unit, e.g. '4.72 1/cm' or '472 1/m'."),
    resistance_method: Optional[str] = typer.Option(
        None, help="EIS: bulk resistance by 'intercept' (default) or a circuit fit: R0-CPE1, R0-p(R1,CPE1), "
                   "R0-p(R1,CPE1)-CPE2."),
    experiment: Optional[str] = typer.Option(None, help="EIS MADAP table: the experimentID to ingest."),
    format_id: Optional[str] = typer.Option(None, "--format", help="Reader id; overrides content detection."),
    meta: Optional[Path] = typer.Option(None, "--meta", help="Metadata file (JSON/YAML); default <file>.meta.json."),
    revises: Optional[str] = typer.Option(None, help="Record id this one is a new version of."),
    condition: Optional[list[str]] = typer.Option(
        None, help="Measurement condition KEY=VALUE (repeatable): temperature='25 degC', pressure='1 bar', "
                   "atmosphere=argon, mode=operando|in situ|ex situ, cell_type='CR2032 coin cell'."),
    series: Optional[str] = typer.Option(
        None, help="Operando series: a directory or glob of patterns ingested as ONE record (2-D array)."),
    cycling_record: Optional[str] = typer.Option(
        None, help="With --series: id of the cycling/EIS record measured on the same cell at the same time."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Ingest files as validated records; prints one record id per file (or one per --series)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from battkg.ingest.pipeline import SIDECAR_SUFFIXES, ingest_file, user_metadata
    from battkg.ingest.technique import technique as technique_of

    if technique == "finales":  # JSON objects of a broker, not instrument files: their own mapper
        _ingest_finales(paths, access, store)
        return
    if technique not in TECHNIQUES:
        err.print(f"[bold red]error:[/] unknown technique {technique!r}; choose one of {', '.join(TECHNIQUES)}")
        raise typer.Exit(2)
    try:
        technique_of(technique)
    except KeyError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc.args[0]))}")
        raise typer.Exit(3)
    if bool(paths) == bool(series):
        err.print("[bold red]error:[/] give either files or --series DIR_OR_GLOB")
        raise typer.Exit(2)
    if cycling_record and not series:
        err.print("[bold red]error:[/] --cycling-record links an operando --series; it needs --series")
        raise typer.Exit(2)
    files = [p for p in paths or [] if not p.name.endswith(SIDECAR_SUFFIXES)]
    cli = {"sample": sample, "material": material, "operator": operator, "instrument": instrument,
           "access": access if access != "public" else None, "success": success, "rating": rating,
           "title": title, "wavelength": wavelength, "revises": revises,
           "excitation_energy": excitation_energy, "laser_wavelength": laser_wavelength, "ordinate": ordinate,
           "temperature": temperature, "timestep": timestep, "frame_interval": frame_interval,
           "ensemble": ensemble, "force_field": force_field, "formation_cycles": formation_cycles,
           "cell_constant": cell_constant, "resistance_method": resistance_method}
    reader_options: dict[str, Any] = {}
    if topology is not None:
        reader_options["topology"] = str(topology)
    if energies is not None:
        reader_options["energies"] = str(energies)
    if column_map:
        malformed = [c for c in column_map if "=" not in c]
        if malformed:
            err.print(f"[bold red]error:[/] --column-map {escape(malformed[0])!r}: expected ARRAY=COLUMN")
            raise typer.Exit(2)
        reader_options["columns"] = dict(c.split("=", 1) for c in column_map)
        format_id = format_id or "cycling.generic.csv"  # a column map means the generic reader
    if reader_option:
        from battkg.readers import parse_reader_options

        try:
            reader_options.update(parse_reader_options(technique, reader_option))
        except BattkgError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2)
    if experiment:
        reader_options["experiment"] = experiment
    if store_positions:
        reader_options["store_positions"] = True
    if transport:
        from battkg.ingest.md import parse_transport

        try:
            reader_options["transport"] = parse_transport(transport)
        except BattkgError as exc:
            _fail(exc)
    if condition:
        malformed = [c for c in condition if "=" not in c]
        if malformed:
            err.print(f"[bold red]error:[/] --condition {escape(malformed[0])!r}: expected KEY=VALUE")
            raise typer.Exit(2)
        cli["conditions"] = dict(c.split("=", 1) for c in condition)
    if series:
        _ingest_series(technique, series, cli, meta, format_id, cycling_record, store)
        return
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
                result = ingest_file(repo, technique, path, user, format_id=format_id,
                                     reader_options=reader_options or None)
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


def _ingest_series(technique: str, spec: str, cli: dict[str, Any], meta: Optional[Path], format_id: Optional[str],
                   cycling_record: Optional[str], store: Optional[str]) -> None:
    """``ingest TECH --series``: one record for a directory/glob of patterns, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from battkg.ingest.pipeline import user_metadata
    from battkg.ingest.series import expand_series, ingest_series

    try:
        members = expand_series(spec)
        # The sidecar of a series is --meta or <dir>/series.meta.json|yaml.
        series_dir = Path(spec) if Path(spec).is_dir() else members[0].parent
        user = user_metadata(technique, series_dir / "series", cli, meta)
        repo = _repo(store)
    except BattkgError as exc:
        _fail(exc)
    with repo, Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=err, transient=True) as progress:
        task = progress.add_task(f"{technique} series", total=len(members))
        try:
            result = ingest_series(repo, technique, members, user, format_id=format_id,
                                   electrochemistry_record=cycling_record,
                                   progress=lambda done: progress.update(task, completed=done))
        except BattkgError as exc:
            _fail(exc)
    for warning in result.warnings:
        err.print(f"[yellow]{escape(spec)}: {escape(warning)}[/]")
    state = "created" if result.created else "exists (same files and options; nothing changed)"
    err.print(f"{escape(spec)}: {len(members)} patterns → record {result.record_id} {state}")
    out.print(result.record_id, highlight=False)


finales_app = typer.Typer(no_args_is_help=True, help="FINALES broker: live pull.")
app.add_typer(finales_app, name="finales")


def _print_finales_report(report: Any) -> None:
    for path, reason in report.skipped:
        err.print(f"[dim]{escape(path)}: skipped ({escape(reason)})[/]")
    for message in report.warnings + report.conflicts:
        err.print(f"[yellow]{escape(message)}[/]")
    for message in report.errors:
        err.print(f"[bold red]error:[/] {escape(message)}")
    err.print(f"FINALES: {report.created} record(s) created, {report.status_changes} status change(s), "
              f"{report.unchanged} unchanged, {report.invalid} not conforming to their schema, "
              f"{report.unknown_requests} result(s) with an unknown request, {len(report.errors)} file(s) failed")
    if report.errors:
        raise typer.Exit(1)


def _ingest_finales(paths: list[Path], access: str, store: Optional[str]) -> None:
    from battkg.mappers.finales.importer import import_paths

    try:
        with _repo(store) as repo:
            report = import_paths(repo, paths, access=access)
    except BattkgError as exc:
        _fail(exc)
    _print_finales_report(report)


@finales_app.command("sync")
def finales_sync(
    url: str = typer.Option(..., help="Broker base URL, e.g. http://broker:13371."),
    token_file: Path = typer.Option(..., help="File holding the bearer token (JWT)."),
    timeout: float = typer.Option(30.0, help="Seconds per HTTP call."),
    retries: int = typer.Option(3, help="Retries on connection errors and 5xx answers."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Pull capabilities, tenants, all requests and results from a broker and import them."""
    from battkg.mappers.finales.sync import read_token, sync

    try:
        token = read_token(token_file)
        with _repo(store) as repo:
            report = sync(repo, url, token, timeout=timeout, retries=retries)
    except BattkgError as exc:
        _fail(exc)
    _print_finales_report(report)


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
    export([record_id], output_format="jsonld", output=None, license_url="https://creativecommons.org/licenses/by/4.0/",
           affiliation=None, store=store)


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
    record_ids: list[str] = typer.Argument(..., help="Record id(s); several make one campaign crate."),
    output_format: str = typer.Option("jsonld", "--format", help="jsonld | ro-crate | invenio."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here (required for ro-crate)."),
    license_url: str = typer.Option("https://creativecommons.org/licenses/by/4.0/", "--license",
                                    help="Licence IRI for the crate / deposit."),
    affiliation: Optional[str] = typer.Option(None, help="invenio: ROR id of the creators' organisation."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Export records: JSON-LD (framed, compacted, context inline), an RO-Crate zip, or InvenioRDM JSON."""
    from battkg.export import EXPORT_FORMATS, export_record, invenio_record, write_ro_crate

    if output_format not in EXPORT_FORMATS:
        err.print(f"[bold red]error:[/] unknown export format {output_format!r} ({', '.join(EXPORT_FORMATS)})")
        raise typer.Exit(2)
    if output_format != "ro-crate" and len(record_ids) > 1:
        err.print("[bold red]error:[/] several records export as one --format ro-crate; jsonld/invenio take one")
        raise typer.Exit(2)
    if output_format == "ro-crate" and output is None:
        err.print("[bold red]error:[/] --format ro-crate writes a zip: give --output FILE.zip")
        raise typer.Exit(2)
    try:
        with _repo(store, read_only=True) as repo:
            if output_format == "ro-crate":
                write_ro_crate(repo, record_ids, output, license_url=license_url)
                err.print(f"wrote {output} ({len(record_ids)} record(s))")
                return
            if output_format == "invenio":
                document = invenio_record(repo, record_ids[0], affiliation_ror=affiliation, license_url=license_url)
            else:
                document = export_record(repo, record_ids[0])
    except BattkgError as exc:
        _fail(exc)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is not None:
        output.write_text(text)
    else:
        sys.stdout.write(text)


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
    query_timeout: float = typer.Option(30.0, help="Stop a SPARQL query after this many seconds."),
    query_workers: int = typer.Option(2, help="Query worker processes (0: run queries on threads, no hard stop)."),
    max_upload_mb: float = typer.Option(256.0, help="Largest request body (uploads, updates, graphs) in MB."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Serve the HTTP API: /sparql, /records, /ingest, /store, /docs (OpenAPI)."""
    import uvicorn

    from battkg.api.app import create_app
    from battkg.api.deps import Settings

    try:
        repo = _repo(store)
    except BattkgError as exc:
        _fail(exc)
    settings = Settings(query_timeout=query_timeout, query_workers=query_workers,
                        max_upload_bytes=int(max_upload_mb * 1024 * 1024))
    err.print(f"battkg {__version__}: SPARQL endpoint at http://{host}:{port}/sparql, API docs at "
              f"http://{host}:{port}/docs (store {repo.location})")
    uvicorn.run(create_app(repo=repo, settings=settings), host=host, port=port, log_level="warning")


@users_app.command("add")
def users_add(
    name: str,
    role: str = typer.Option("reader", help="reader | writer | admin."),
    orcid: Optional[str] = typer.Option(None, help="The user's ORCID iD: they also see confidential records they operated."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Create a user (or give an existing one a new token); prints the token once — it is stored only hashed."""
    from battkg.api.auth import UserStore

    location = Path(store or default_store_location())
    location.mkdir(parents=True, exist_ok=True)
    try:
        token = UserStore(location / "users.json").add(name, role, orcid)
    except BattkgError as exc:
        _fail(exc)
    err.print(f"user {name} ({role}) saved in {location / 'users.json'}; the token below is shown only once:")
    out.print(token, highlight=False)


@users_app.command("list")
def users_list(store: Optional[str] = StoreOpt) -> None:
    """List users and their roles."""
    from battkg.api.auth import UserStore

    for name, role in UserStore(Path(store or default_store_location()) / "users.json").list().items():
        out.print(f"{name}\t{role}", highlight=False)


@users_app.command("remove")
def users_remove(name: str, store: Optional[str] = StoreOpt) -> None:
    """Delete a user; their token stops working."""
    from battkg.api.auth import UserStore

    try:
        UserStore(Path(store or default_store_location()) / "users.json").remove(name)
    except BattkgError as exc:
        _fail(exc)
    err.print(f"removed user {name}")


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
    """Write simulated example files: XRD patterns (.xy/.xye/.csv + sidecars) and an operando series."""
    from battkg.demo import write_demo_files, write_operando_series

    for path in write_demo_files(directory):
        out.print(str(path))
    series = write_operando_series(Path(directory) / "xrd-operando")
    out.print(f"{series[0].parent}/ ({len(series)} operando patterns + series.meta.json)")


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
