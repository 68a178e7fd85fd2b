"""What-if over a person's twin: scenarios, the generic model, the optimizer, the capability."""
