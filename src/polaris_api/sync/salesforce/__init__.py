"""Salesforce integration (02-salesforce.md): the connector and the test double."""
