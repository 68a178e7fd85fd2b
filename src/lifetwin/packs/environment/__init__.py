"""The environment pack."""
