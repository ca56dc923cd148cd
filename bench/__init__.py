"""tasktrack's benchmark suite (BENCH.md): each workload side by side with raw PostgreSQL."""
