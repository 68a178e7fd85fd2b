"""The sleep pack."""
