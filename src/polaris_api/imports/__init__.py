"""File imports (04): reading an uploaded CSV/XLSX or a Google Sheet (:mod:`.tabular`,
:mod:`.sheets`) and the Pathful session report import (:mod:`.pathful`: header mapping, lookups,
planner, bulk writer, after-import recomputations, the unmatched queue and the ``pathful-sheet``
sync kind). Below the services: nothing here imports ``services/`` or ``routers/``.
"""
