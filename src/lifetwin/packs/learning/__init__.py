"""The learner twin: knowledge tracing, memory, learning exports."""
