"""The HTTP API: ClearML-style RPC (`POST /<service>.<action>`) over the service and queries."""
