"""pytest fixtures for the delivery tests (a plugin listed in tests/conftest.py)."""
