"""Athletics pack: training load and the fitness–fatigue model."""
