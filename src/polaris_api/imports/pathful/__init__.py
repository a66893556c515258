"""Pathful Session Report import internals (04 PF-*): header mapping, preloaded lookups, the
in-memory planner, the bulk writer and the after-import recomputations.

The entry points are in :mod:`polaris_api.imports.pathful.importer`.
"""
