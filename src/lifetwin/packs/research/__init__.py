"""Population research: studies and their operator's commands, API routes and dashboard
page, and the person's view of what they contributed (``lifetwin.operations.population``)."""
