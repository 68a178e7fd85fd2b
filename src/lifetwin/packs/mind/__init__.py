"""The mind pack."""
