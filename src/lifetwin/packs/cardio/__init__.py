"""The cardio pack."""
