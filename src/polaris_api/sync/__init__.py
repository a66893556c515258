"""Synchronisation with external systems (Salesforce, Pathful, rosters)."""
