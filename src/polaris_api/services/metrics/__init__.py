"""06 metrics and reports: the §2 rules (``sql``), parameters, the §7 meta block, exports."""
