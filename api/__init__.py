"""The HTTP API (FastAPI).  ``battkg serve`` runs :func:`battkg.api.app.create_app` with uvicorn."""
