"""Websites: static sites with atomic deploys, rollbacks and custom domains."""
