"""Any input to validated Ibis tables: sources, schema, engine helpers, periods, the ledger, results.

The bottom layer: it imports nothing else from the kit but ``kit.config`` and ``kit.errors``.
"""
