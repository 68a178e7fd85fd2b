"""An example LifeTwin pack: a hydration domain with one metric (``water_intake``), a CSV
connector, one capability (the daily total against a goal), a command, an API route and
a dashboard page — written only against LifeTwin's public contract, changing no file of
LifeTwin itself. docs/architecture.md walks through it."""
