"""pytest fixtures for the sites tests (a plugin listed in tests/conftest.py)."""
