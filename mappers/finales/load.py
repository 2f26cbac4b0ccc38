"""Reading FINALES JSON: files, directories and broker responses → classified objects.

The broker serves (and the archiving tenant stores) lists or single objects of these shapes
(``shared/reference/finales/GUIDE.md`` §1.2)::

    capability  {quantity, method, json_schema_specifications, json_schema_result_output[, is_active]}
    tenant      {[tenant_uuid,] name, limitations, contact_person[, is_active]}
    limitations {quantity, method, limitations}                       (GET /limitations/)
    request     {uuid, ctime, status, request: {quantity, methods, parameters, tenant_uuid}}
                or the bare request body as posted (no uuid/status)
    result      {uuid, ctime, status, result: {data, quantity, method, parameters, tenant_uuid, request_uuid}}
                or the bare result body as posted

Objects without a broker UUID (bare bodies, registration files) get a UUIDv5 of their
canonical JSON and are flagged ``uuidDerived``.  Structural problems (not JSON, a wrapper
without its keys, a field of the wrong JSON type) raise :class:`FormatError` naming the file
and the JSON path; conformance to the capability's JSON Schema is checked later and never
refuses an object (the broker accepted it).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from battkg.errors import FormatError

FINALES_NAMESPACE = uuid.UUID("0f1a3c55-6b7e-5d21-8a4f-3e2b9c1d7f60")
KINDS = ("capability", "tenant", "limitations", "request", "result")  # import order: schemas before use
REQUEST_STATUSES = ("pending", "reserved", "resolved", "retracted", "unsolicited")
RESULT_STATUSES = ("original", "amended", "deleted")


@dataclass
class FinalesObject:
    """One FINALES object, normalised: ``body`` is the inner object (request/result body, tenant, ...)."""

    kind: str
    uuid: str
    body: dict[str, Any]
    status: str | None
    ctime: str | None
    source: Path
    json_path: str
    uuid_derived: bool = False
    digest: str = ""  # sha256 of the canonical JSON of ``body`` (status and ctime excluded)

    @property
    def quantity(self) -> str | None:
        return self.body.get("quantity")

    @property
    def methods(self) -> list[str]:
        if self.kind == "request":
            return list(self.body.get("methods") or [])
        method = self.body.get("method")
        if isinstance(method, list):
            return list(method)
        return [method] if isinstance(method, str) else []


@dataclass
class LoadedFile:
    """A JSON file's FINALES objects, or the reason it holds none."""

    path: Path
    objects: list[FinalesObject] = field(default_factory=list)
    skipped: str | None = None  # why a file in a directory is not a FINALES file


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_of(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def derived_uuid(kind: str, value: Any) -> str:
    return str(uuid.uuid5(FINALES_NAMESPACE, f"{kind}\n{canonical(value)}"))


def classify(item: Any) -> str | None:
    """The kind of a top-level JSON object, or None if it is no FINALES object."""
    if not isinstance(item, dict):
        return None
    keys = set(item)
    if "@context" in keys:  # JSON-LD drafts about FINALES data are not broker output
        return None
    if "request" in keys and isinstance(item.get("request"), dict) and "uuid" in keys:
        return "request"
    if "result" in keys and isinstance(item.get("result"), dict) and "uuid" in keys:
        return "result"
    if {"json_schema_specifications", "json_schema_result_output", "quantity", "method"} <= keys:
        return "capability"
    if {"name", "limitations", "contact_person"} <= keys:
        return "tenant"
    if {"quantity", "methods", "parameters", "tenant_uuid"} <= keys:
        return "request"
    if {"data", "quantity", "method", "parameters", "tenant_uuid"} <= keys:
        return "result"
    if keys == {"quantity", "method", "limitations"}:
        return "limitations"
    return None


def _expect(value: Any, kind: type | tuple[type, ...], path: Path, where: str, what: str) -> Any:
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise FormatError(path, f"{what} must be a JSON {_json_name(names)} (got {_json_name(type(value).__name__)})",
                          field=where, reader="finales")
    return value


def _json_name(python_names: str) -> str:
    return (python_names.replace("dict", "object").replace("list", "array").replace("str", "string")
            .replace("NoneType", "null").replace("float", "number").replace("int", "integer"))


def _string_list(value: Any, path: Path, where: str, what: str) -> list[str]:
    _expect(value, list, path, where, what)
    for index, item in enumerate(value):
        _expect(item, str, path, f"{where}[{index}]", f"each entry of {what}")
    return value


def normalise(item: dict[str, Any], kind: str, path: Path, where: str) -> FinalesObject:
    """Check the broker's structural contract for one object and wrap it (FormatError if broken)."""
    status = ctime = None
    uid: str | None = None
    if kind in ("request", "result") and kind in item:
        uid = _expect(item.get("uuid"), str, path, f"{where}.uuid", f"the {kind} uuid")
        status = _expect(item.get("status"), str, path, f"{where}.status", f"the {kind} status")
        allowed = REQUEST_STATUSES if kind == "request" else RESULT_STATUSES
        if status not in allowed:
            raise FormatError(path, f"{kind} status {status!r} is not a FINALES status ({', '.join(allowed)})",
                              field=f"{where}.status", reader="finales")
        if item.get("ctime") is not None:
            ctime = _expect(item["ctime"], str, path, f"{where}.ctime", "ctime")
        body = item[kind]
        where = f"{where}.{kind}"
    else:
        body = item
    if kind == "request":
        _expect(body.get("quantity"), str, path, f"{where}.quantity", "the request quantity")
        if not _string_list(body.get("methods"), path, f"{where}.methods", "the request methods"):
            raise FormatError(path, "a request names at least one method", field=f"{where}.methods", reader="finales")
        _expect(body.get("parameters"), dict, path, f"{where}.parameters", "the request parameters")
        _expect(body.get("tenant_uuid"), str, path, f"{where}.tenant_uuid", "the requesting tenant uuid")
    elif kind == "result":
        _expect(body.get("quantity"), str, path, f"{where}.quantity", "the result quantity")
        method = body.get("method")
        methods = [method] if isinstance(method, str) else _string_list(method, path, f"{where}.method",
                                                                         "the result method")
        if len(methods) != 1:
            raise FormatError(path, f"a result names exactly one method (got {len(methods)})",
                              field=f"{where}.method", reader="finales")
        _expect(body.get("data"), dict, path, f"{where}.data", "the result data")
        _expect(body.get("parameters"), dict, path, f"{where}.parameters", "the result parameters")
        _expect(body.get("tenant_uuid"), str, path, f"{where}.tenant_uuid", "the posting tenant uuid")
        _expect(body.get("request_uuid", ""), (str, type(None)), path, f"{where}.request_uuid", "the request uuid")
    elif kind == "capability":
        for key in ("quantity", "method"):
            _expect(body.get(key), str, path, f"{where}.{key}", f"the capability {key}")
        for key in ("json_schema_specifications", "json_schema_result_output"):
            _expect(body.get(key), dict, path, f"{where}.{key}", "a JSON Schema")
    elif kind == "tenant":
        _expect(body.get("name"), str, path, f"{where}.name", "the tenant name")
        _expect(body.get("limitations"), list, path, f"{where}.limitations", "the tenant limitations")
        for index, entry in enumerate(body["limitations"]):
            entry_where = f"{where}.limitations[{index}]"
            _expect(entry, dict, path, entry_where, "a limitation")
            for key in ("quantity", "method"):
                _expect(entry.get(key), str, path, f"{entry_where}.{key}", f"the limitation {key}")
        if body.get("tenant_uuid") is not None:
            uid = _expect(body["tenant_uuid"], str, path, f"{where}.tenant_uuid", "the tenant uuid")
    elif kind == "limitations":
        for key in ("quantity", "method"):
            _expect(body.get(key), str, path, f"{where}.{key}", f"the {key}")
    content_key = body
    if kind == "capability":  # the schema pair identifies a capability row; is_active is its state
        content_key = {k: v for k, v in body.items() if k != "is_active"}
    derived = uid is None
    return FinalesObject(kind, uid or derived_uuid(kind, content_key), body, status, ctime, path,
                         where, derived, digest_of(content_key))


def load_json_file(path: Path) -> Any:
    """Parse one JSON file; syntax errors name the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})", reader="finales") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror}", reader="finales") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(path, f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno,
                          reader="finales") from None


def load_file(path: Path, *, strict: bool) -> LoadedFile:
    """Classify and normalise every object of one file.

    ``strict`` (an explicitly named file) turns "no FINALES object" into an error; in a
    directory such files are skipped with the reason.  An element of a list that is no
    FINALES object is always an error: a broker list holds one kind.
    """
    data = load_json_file(path)
    items, paths = (data, [f"$[{i}]" for i in range(len(data))]) if isinstance(data, list) else ([data], ["$"])
    if isinstance(data, list) and not data:
        return LoadedFile(path, [], skipped="an empty list")
    first = classify(items[0])
    if first is None:
        reason = ("not a FINALES object (expected a capability, tenant, limitations, request or result, "
                  "or a list of them)")
        if strict:
            raise FormatError(path, reason, field=paths[0], reader="finales")
        return LoadedFile(path, [], skipped=reason)
    loaded = LoadedFile(path)
    for item, where in zip(items, paths):
        kind = classify(item)
        if kind is None:
            raise FormatError(path, "this element is no FINALES object, unlike the rest of the list "
                              f"(a {first})", field=where, reader="finales")
        loaded.objects.append(normalise(item, kind, path, where))
    return loaded


def collect(paths: list[Path]) -> list[tuple[Path, bool]]:
    """Expand directories to their ``*.json`` files (sorted); (file, named explicitly)."""
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found.extend((p, False) for p in sorted(path.rglob("*.json")) if p.is_file())
        elif path.is_file():
            found.append((path, True))
        else:
            raise FormatError(path, "no such file or directory", reader="finales")
    return found
