"""The finance pack."""
