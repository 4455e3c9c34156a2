"""End-to-end tasks (data -> model -> fit -> export) that the CLI calls; each returns a report."""
