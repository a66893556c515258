"""The Salesforce fixtures (``fake_sf``, ``sf``, ``sf_settings``, ``sleeps``, ``sf_client``) live
in ``tests/sf_fixtures.py`` and are registered for the whole suite by ``tests/conftest.py``."""
