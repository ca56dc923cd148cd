"""The pure domain: commands, events, state, decide and evolve; no I/O."""
