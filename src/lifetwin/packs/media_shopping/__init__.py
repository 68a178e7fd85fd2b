"""The media_shopping pack."""
