"""Pure rules about customer records (no store, no I/O): which records look like the same person."""
