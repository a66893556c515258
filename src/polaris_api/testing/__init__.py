"""Test doubles shipped with the package (``polaris dev fake-salesforce`` serves one); never
imported by the application's own code paths."""
