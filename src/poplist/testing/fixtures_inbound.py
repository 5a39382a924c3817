"""pytest fixtures for the inbound tests (a plugin listed in tests/conftest.py)."""
