"""Prefect wiring of the pipeline stages (no logic of its own)."""
