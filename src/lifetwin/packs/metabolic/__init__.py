"""Metabolic pack: the personal glucose–insulin–meal twin."""
