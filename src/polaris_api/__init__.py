"""Polaris API: the integration hub of a K-12 career-education nonprofit."""

__version__ = "0.1.0"
