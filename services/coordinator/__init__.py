"""The saga coordinator: drives each run step by step and owns run state."""
