"""tasktrack: an event-sourced task tracker on PostgreSQL that speaks ClearML's tasks API."""
