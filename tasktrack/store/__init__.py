"""Storage: schema, connections, the event log, migrations, the embedded server."""
