"""The clinical pack."""
