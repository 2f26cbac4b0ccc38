"""battkg: an ontology-first knowledge graph for battery research data.

Public entry points (see README):

* :func:`battkg.ingest.ingest_file` — one file → one validated record;
* :mod:`battkg.query` — named SPARQL queries and DataFrames (``battkg.query.frame``);
* :mod:`battkg.export` — records as JSON-LD.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
