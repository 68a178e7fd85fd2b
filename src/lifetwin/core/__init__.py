"""The shared vocabulary: observations, events, metrics, units and validation."""
