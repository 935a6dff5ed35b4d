"""The worker runtime: a reservation loop, a single-job executor, and maintenance."""
