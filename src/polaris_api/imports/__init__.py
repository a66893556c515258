"""File imports (04): reading an uploaded CSV/XLSX or a Google Sheet (:mod:`.tabular`,
:mod:`.sheets`), the Pathful session report import (:mod:`.pathful`: header mapping, lookups,
planner, bulk writer, after-import recomputations, the unmatched queue and the ``pathful-sheet``
sync kind) and the district roster import (:mod:`.roster`). Problem classes: ``sync/problems.py``.
Below the services: nothing here imports ``services/`` or ``routers/``.
"""
