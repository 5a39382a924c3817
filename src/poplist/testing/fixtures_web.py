"""pytest fixtures for the web tests (a plugin listed in tests/conftest.py)."""
