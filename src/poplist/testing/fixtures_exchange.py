"""pytest fixtures for the exchange tests (a plugin listed in tests/conftest.py)."""
