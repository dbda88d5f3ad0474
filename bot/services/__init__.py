"""Use cases: the only callers of storage; both channels call these."""
