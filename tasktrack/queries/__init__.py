"""Read side: typed answers from the read models and the log."""
