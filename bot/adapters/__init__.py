"""Adapters for optional outside parts (models), each behind a port the core defines."""
