"""Map the design card's top-level folders onto the single `battkg` namespace.

Metadata lives in pyproject.toml; this file only exists because setuptools
cannot express "every sub-package below these folders" declaratively when the
folders are renamed into one namespace.
"""
from pathlib import Path

from setuptools import setup

PACKAGE_ROOTS = {
    "battkg": "core",
    "battkg.ontology": "ontology",
    "battkg.shapes": "shapes",
    "battkg.ingest": "ingest",
    "battkg.mappers": "mappers",
    "battkg.query": "query",
    "battkg.api": "api",
}


def _discover() -> list[str]:
    found: list[str] = []
    for package, folder in PACKAGE_ROOTS.items():
        root = Path(folder)
        for init in sorted(root.rglob("__init__.py")):
            rel = init.parent.relative_to(root)
            found.append(".".join([package, *rel.parts]) if rel.parts else package)
    return found


setup(package_dir=PACKAGE_ROOTS, packages=_discover())
