"""The `tasktrack` command line."""
