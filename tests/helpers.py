"""Small builders shared by the record-path tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from battkg.ingest.pipeline import IngestResult, ingest_file
from battkg.errors import FormatError
from battkg.ingest.technique import UserMetadata
from battkg.readers import ScalarQuantity
from battkg.store import Repository

ORCID_A = "https://orcid.org/0000-0002-1825-0097"
ORCID_B = "https://orcid.org/0000-0001-5109-3700"


def write_xy(path: Path, n: int = 200, start: float = 10.0, step: float = 0.05, header: str = "") -> Path:
    rows = "".join(f"{start + i * step:.4f} {100 + (i * 37) % 500}\n" for i in range(n))
    path.write_text(header + rows)
    return path


def user(sample: str = "LNO-019", material: str | None = "LiNiO2", operator: str | None = ORCID_A,
         wavelength: float | None = 1.5406, **extra: object) -> UserMetadata:
    quantities = [ScalarQuantity("Wavelength", wavelength, "angstrom", "Kα1")] if wavelength is not None else []
    return UserMetadata(sample=sample, material=material, operator=operator, instrument="Rigaku SmartLab",
                        quantities=quantities, **extra)  # type: ignore[arg-type]


def ingest(repo: Repository, path: Path, meta: UserMetadata | None = None, technique: str = "xrd") -> IngestResult:
    return ingest_file(repo, technique, path, meta or user())


def snapshot(repo: Repository) -> tuple[set[str], set[str], int]:
    """What must not change when an ingest fails: graphs, blobs and staging files."""
    return (set(repo.graphs.graph_names()), set(repo.blobs.keys()), len(list(repo.blobs.tmp_dir.iterdir())))


def assert_refused(repo: Repository, technique: str, path: Path, *fragments: str,
                   error: type[Exception] = FormatError, **reader_options: Any) -> Exception:
    """Ingest ``path`` expecting ``error``: its message names the file and every fragment (the rule
    broken), and the store is exactly as before (no graph, blob or staging file left)."""
    before = snapshot(repo)
    with pytest.raises(error) as info:
        ingest_file(repo, technique, path, UserMetadata(sample="S-1"), reader_options=reader_options or None)
    message = str(info.value)
    for fragment in (str(path), *fragments):
        assert fragment in message, (fragment, message)
    assert snapshot(repo) == before
    return info.value
