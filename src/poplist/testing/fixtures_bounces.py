"""pytest fixtures for the bounces tests (a plugin listed in tests/conftest.py)."""
