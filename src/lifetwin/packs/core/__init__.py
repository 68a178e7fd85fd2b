"""The core pack."""
