"""Salesforce test double (02 SF-70 … SF-78): a small Salesforce-compatible HTTPS server.

See :mod:`.runner` for :class:`FakeSalesforce` (in-process) and :func:`serve_forever` (CLI),
:mod:`.server` for the HTTP surface and control API, :mod:`.soql` for the SOQL subset.
"""

from polaris_api.testing.fake_salesforce.runner import FakeSalesforce, FakeSalesforceAdmin, serve_forever
from polaris_api.testing.fake_salesforce.soql import SoqlError

__all__ = ["FakeSalesforce", "FakeSalesforceAdmin", "SoqlError", "serve_forever"]
