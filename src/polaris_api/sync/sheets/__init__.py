"""Google Sheets as an import source (04 PF-1, the ``pathful-sheet`` sync kind)."""
