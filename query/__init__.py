"""Named SPARQL queries (``query/*.rq``) and the Python query API.

Each ``.rq`` file starts with a header::

    #+ summary: what the query answers
    #+ param: name — meaning (one line per parameter; the variable ?name must be projected)
    #+ param: name (optional) — an optional parameter: left unbound it matches anything
    #+ columns: the result columns

Parameters are bound with pyoxigraph's substitutions (never by string
pasting), so a parameter value cannot change the query.  Results come back in
``QuerySolutions.variables`` order: as rows, CSV, JSON or a pandas DataFrame.

>>> from battkg.query import named_queries
>>> "experiments-by-technique" in named_queries()
True
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from battkg.errors import BattkgError

HERE = Path(__file__).resolve().parent
__all__ = ["NamedQuery", "QueryResult", "named_queries", "run", "frame"]


class QueryError(BattkgError):
    """A query could not be run (unknown name, bad parameter, syntax error)."""


@dataclass(frozen=True)
class NamedQuery:
    name: str
    text: str
    summary: str
    params: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    optional: frozenset[str] = frozenset()


def _parse(path: Path) -> NamedQuery:
    text = path.read_text()
    summary, params, columns, optional = "", {}, [], set()
    for line in text.splitlines():
        match = re.match(r"#\+\s*(\w+):\s*(.*)", line)
        if not match:
            continue
        key, value = match.groups()
        if key == "summary":
            summary = value.strip()
        elif key == "param":
            name, _, meaning = value.partition("—")
            name = name.strip()
            if name.endswith("(optional)"):
                name = name[: -len("(optional)")].strip()
                optional.add(name)
            params[name] = meaning.strip()
        elif key == "columns":
            columns = [c.strip() for c in value.split(",")]
    return NamedQuery(path.stem, text, summary, params, columns, frozenset(optional))


def named_queries() -> dict[str, NamedQuery]:
    """All shipped named queries by name."""
    return {q.name: q for q in (_parse(p) for p in sorted(HERE.glob("*.rq")))}


@dataclass
class QueryResult:
    """A SELECT result: column names and rows of RDF terms (None = unbound)."""

    columns: list[str]
    rows: list[list[ox.Term | None]]

    def values(self) -> list[list[Any]]:
        """Rows as Python values (numbers and booleans converted, IRIs and strings as str)."""
        return [[_python_value(term) for term in row] for row in self.rows]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if t is None else t.value for t in row])
        return out.getvalue()

    def to_json(self) -> str:
        """SPARQL 1.1 Query Results JSON."""
        bindings = []
        for row in self.rows:
            binding: dict[str, Any] = {}
            for name, term in zip(self.columns, row):
                if term is None:
                    continue
                if isinstance(term, ox.NamedNode):
                    binding[name] = {"type": "uri", "value": term.value}
                elif isinstance(term, ox.BlankNode):
                    binding[name] = {"type": "bnode", "value": term.value}
                else:
                    entry = {"type": "literal", "value": term.value}
                    if term.language:
                        entry["xml:lang"] = term.language
                    elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
                        entry["datatype"] = term.datatype.value
                    binding[name] = entry
            bindings.append(binding)
        return json.dumps({"head": {"vars": self.columns}, "results": {"bindings": bindings}}, indent=1)

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd

        return pd.DataFrame(self.values(), columns=self.columns)


_NUMERIC = {
    "http://www.w3.org/2001/XMLSchema#integer": int,
    "http://www.w3.org/2001/XMLSchema#int": int,
    "http://www.w3.org/2001/XMLSchema#long": int,
    "http://www.w3.org/2001/XMLSchema#double": float,
    "http://www.w3.org/2001/XMLSchema#float": float,
    "http://www.w3.org/2001/XMLSchema#decimal": float,
}


def _python_value(term: ox.Term | None) -> Any:
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        kind = _NUMERIC.get(term.datatype.value)
        if kind is not None:
            return kind(term.value)
        if term.datatype.value == "http://www.w3.org/2001/XMLSchema#boolean":
            return term.value == "true"
    return term.value


def _term_for(value: Any) -> ox.Term:
    if isinstance(value, ox.NamedNode | ox.Literal):
        return value
    if isinstance(value, bool):
        return ox.Literal(str(value).lower(), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean"))
    if isinstance(value, int | float):
        return ox.Literal(value)  # type: ignore[arg-type]
    text = str(value)
    return ox.NamedNode(text) if re.match(r"^https?://\S+$", text) else ox.Literal(text)


def run(repo_or_store: Any, query: str, params: dict[str, Any] | None = None,
        graphs: list[str] | None = None) -> QueryResult:
    """Run a named query (by name) or a SPARQL SELECT text; returns a :class:`QueryResult`."""
    store = getattr(repo_or_store, "graphs", repo_or_store)
    queries = named_queries()
    params = dict(params or {})
    if query in queries:
        named = queries[query]
        missing = [p for p in named.params if p not in params and p not in named.optional]
        if missing:
            raise QueryError(f"query '{query}' needs parameter(s): {', '.join(missing)} "
                             f"(e.g. --param {missing[0]}=...)")
        unknown = [p for p in params if p not in named.params]
        if unknown:
            raise QueryError(f"query '{query}' has no parameter(s) {', '.join(unknown)}; "
                             f"it takes: {', '.join(named.params) or 'none'}")
        text = named.text
    elif re.match(r"^\s*[\w-]+\s*$", query):
        raise QueryError(f"no named query '{query}'; known: {', '.join(queries)}")
    else:
        text = query
    substitutions = {ox.Variable(name): _term_for(value) for name, value in params.items()}
    try:
        results = store.query(text, substitutions=substitutions or None, graphs=graphs)
    except SyntaxError as exc:
        raise QueryError(f"SPARQL syntax error: {exc}") from None
    except RuntimeError as exc:
        raise QueryError(str(exc)) from None
    if not isinstance(results, ox.QuerySolutions):
        raise QueryError("only SELECT queries return tables; use the HTTP endpoint for ASK/CONSTRUCT")
    columns = [v.value for v in results.variables]
    rows = [[solution[name] for name in columns] for solution in results]
    return QueryResult(columns, rows)


def frame(repo_or_store: Any, query: str, params: dict[str, Any] | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
    """Run a query and return a pandas DataFrame (columns in the query's order)."""
    return run(repo_or_store, query, params, **kwargs).to_frame()
