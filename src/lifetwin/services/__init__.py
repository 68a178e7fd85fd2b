"""What the adapters call: opening a home, importing, the demo person, health checks."""
