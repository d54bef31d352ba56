"""The running service: one `monitor run` process (its ticks and reloads), its worker processes and logging."""
