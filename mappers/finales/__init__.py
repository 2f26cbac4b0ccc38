"""FINALES broker data → battkg records (one named graph per capability, tenant, request, result).

Public entry points: :func:`import_paths` (files and directories of broker JSON) and
:func:`sync` (live pull from a broker).  See ``importer`` for the guarantees and
``mapping`` for the graph shape.
"""

from battkg.mappers.finales.importer import ImportReport, import_paths
from battkg.mappers.finales.sync import SyncError, sync

__all__ = ["ImportReport", "SyncError", "import_paths", "sync"]
