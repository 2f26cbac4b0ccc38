"""Users, roles, bearer tokens and which record graphs a caller may see.

Users live in ``<store>/users.json``; a token is never written to disk, only
its salted scrypt hash::

    {"users": {"alice": {"role": "writer", "orcid": "https://orcid.org/...",
                         "token_id": "3f9a...", "salt": "<hex>", "hash": "<hex>"}}}

A token reads ``bkg_<token_id>_<secret>``: the id finds the user without
trying every hash; the secret is checked with :func:`hmac.compare_digest`.

Visibility policy (records carry ``battkg:accessLevel``):

============  ======  ==========  ============================================
caller        public  restricted  confidential
============  ======  ==========  ============================================
anonymous     yes     no          no
reader        yes     yes         only records whose operator is the user's ORCID
writer        yes     yes         only records whose operator is the user's ORCID
admin         yes     yes         yes
============  ======  ==========  ============================================

Named graphs that are not records (no ``accessLevel`` of their own) are seen
by admins only; the ontology graph is always readable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from battkg.errors import AccessDenied, MetadataError
from battkg.ontology import ONTOLOGY_GRAPH
from battkg.record import RECORD_BASE, orcid_iri
from battkg.store import Repository

ROLES = ("reader", "writer", "admin")
USERS_FILE = "users.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# scrypt cost: n=2^14, r=8 is the interactive-login setting of the scrypt paper (~16 MiB, ~30 ms);
# the result is cached per process so a token is hashed once, not once per request.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


@dataclass(frozen=True)
class Caller:
    """Who is asking: a named user with a role, or anonymous (``name`` None)."""

    name: str | None = None
    role: str | None = None
    orcid: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.name is None

    def can_write(self) -> bool:
        return self.role in ("writer", "admin")

    def require_writer(self) -> None:
        """Raise :class:`AccessDenied` unless the caller is a writer or admin."""
        if self.anonymous:
            raise AccessDenied("this operation needs a bearer token (Authorization: Bearer bkg_...)")
        if not self.can_write():
            raise AccessDenied(f"user {self.name!r} has role {self.role!r}; this operation needs writer or admin")


ANONYMOUS = Caller()


def _hash(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT).hex()


class UserStore:
    """The users file of one store directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._verified: dict[str, Caller] = {}  # token -> caller, for tokens checked in this process

    @classmethod
    def for_repository(cls, repo: Repository) -> "UserStore":
        return cls(Path(repo.location) / USERS_FILE)

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise MetadataError("users", f"cannot read {self.path}: {exc}") from None
        return data.get("users", {})

    def _save(self, users: dict[str, dict[str, str]]) -> None:
        staged = self.path.with_suffix(".tmp")
        # Owner-only: hashes are not secrets, but there is no reason to share them.
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"users": users}, fh, indent=2, sort_keys=True)
        os.replace(staged, self.path)

    def add(self, name: str, role: str, orcid: str | None = None) -> str:
        """Create or re-key a user; returns the new token (shown once, never stored)."""
        if not _NAME.match(name):
            raise MetadataError("name", f"user names are 1-64 letters, digits, '.', '_' or '-' (got {name!r})")
        if role not in ROLES:
            raise MetadataError("role", f"must be one of {', '.join(ROLES)} (got {role!r})")
        orcid_value = orcid_iri(orcid) if orcid else None
        if orcid and orcid_value is None:
            raise MetadataError("orcid", f"{orcid!r} is not an ORCID iD")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        with self._lock:
            users = self._load()
            users[name] = {"role": role, "token_id": token_id, "salt": salt.hex(), "hash": _hash(secret, salt)}
            if orcid_value:
                users[name]["orcid"] = orcid_value
            self._save(users)
            self._verified.clear()
        return f"bkg_{token_id}_{secret}"

    def remove(self, name: str) -> None:
        """Delete a user (its token stops working at once)."""
        with self._lock:
            users = self._load()
            if name not in users:
                raise MetadataError("name", f"no user {name!r}")
            del users[name]
            self._save(users)
            self._verified.clear()

    def list(self) -> dict[str, str]:
        """User name -> role."""
        return {name: entry["role"] for name, entry in sorted(self._load().items())}

    def authenticate(self, token: str) -> Caller:
        """The caller a token belongs to; :class:`AccessDenied` for an unknown or wrong token."""
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "bkg":
            raise AccessDenied("malformed bearer token (expected bkg_<id>_<secret>)")
        _, token_id, secret = parts
        for name, entry in self._load().items():
            if hmac.compare_digest(entry.get("token_id", ""), token_id):
                if hmac.compare_digest(_hash(secret, bytes.fromhex(entry["salt"])), entry["hash"]):
                    caller = Caller(name, entry["role"], entry.get("orcid"))
                    self._verified[token] = caller
                    return caller
                break
        raise AccessDenied("invalid bearer token")


_ACCESS_QUERY = """
SELECT ?g ?level ?operator WHERE {
  GRAPH ?g { ?g battkg:accessLevel ?level .
             OPTIONAL { ?g battkg:describes/chameo:hasOperator ?operator } }
}"""


class Visibility:
    """Which named graphs each caller may read; cached per store write generation."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._lock = threading.Lock()
        self._cached: tuple[int, dict[str, tuple[str, set[str]]], set[str]] | None = None

    def _index(self) -> tuple[dict[str, tuple[str, set[str]]], set[str]]:
        generation = getattr(self.repo.graphs, "generation", None)
        with self._lock:
            if self._cached is not None and generation is not None and self._cached[0] == generation:
                return self._cached[1], self._cached[2]
            levels: dict[str, tuple[str, set[str]]] = {}
            for sol in self.repo.graphs.query(_ACCESS_QUERY):
                graph = sol["g"].value
                if not graph.startswith(RECORD_BASE):
                    continue  # only record graphs declare their own access level
                level, operators = levels.get(graph, (sol["level"].value, set()))
                if sol["operator"] is not None:
                    operators.add(sol["operator"].value)
                levels[graph] = (level, operators)
            everything = set(self.repo.graphs.graph_names())
            if generation is not None:
                self._cached = (generation, levels, everything)
            return levels, everything

    def graphs_for(self, caller: Caller) -> list[str] | None:
        """The graphs ``caller`` may read, or None when that is every graph in the store.

        None lets the store use its fast union default graph; a list restricts both the
        default graph and the graphs ``GRAPH ?g`` can reach.
        """
        levels, everything = self._index()
        if caller.role == "admin":
            return None
        visible = {ONTOLOGY_GRAPH}
        for graph, (level, operators) in levels.items():
            if level == "public" or (level == "restricted" and not caller.anonymous) or (
                    level == "confidential" and caller.orcid is not None and caller.orcid in operators):
                visible.add(graph)
        if visible >= everything:
            return None
        return sorted(visible)

    def dataset_for(self, caller: Caller) -> tuple[str | None, list[str] | None]:
        """(access view, graph list) to run ``caller``'s queries on.

        ``(None, None)``: the whole store's union graph (admins).  ``(view, None)``: an access
        view of :mod:`battkg.access_views` whose union graph is exactly the caller's visible set
        (anonymous: public; other users without confidential records of their own: internal).
        ``(None, graphs)``: an explicit list, when no view matches or the store keeps none.
        """
        graphs = self.graphs_for(caller)
        if graphs is None:
            return None, None
        views = self.repo.graphs.view_names()
        if caller.anonymous and "public" in views:
            return "public", None
        if not caller.anonymous and "internal" in views:
            levels, _ = self._index()
            own_confidential = caller.orcid is not None and any(
                level == "confidential" and caller.orcid in operators for level, operators in levels.values())
            if not own_confidential:
                return "internal", None
        return None, graphs

    def can_see(self, caller: Caller, record_iri: str) -> bool:
        """Whether ``caller`` may read the record graph ``record_iri`` (False if it does not exist)."""
        levels, everything = self._index()
        if record_iri not in everything:
            return False
        graphs = self.graphs_for(caller)
        return graphs is None or record_iri in graphs
