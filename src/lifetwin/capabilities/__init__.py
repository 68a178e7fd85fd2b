"""What the twin does with the data it may use: summaries today; forecasts, alerts,
simulations and recommendations as they arrive. Every capability reads through the
consent gate and stores its outputs with their lineage."""
