"""Sections of the export: one per domain, found by discovery (see poplist.exchange.registry)."""
