"""Any input to validated Ibis tables: sources, schema, engine helpers, periods, the ledger, results.

The bottom layer: it imports nothing else from the kit but ``kit.config`` and ``kit.errors``.
"""

from .compilers import load_lazily as _load_compilers_lazily

_load_compilers_lazily()  # before any backend loads: one dialect's compiler, not Ibis' 20 (see .compilers)
