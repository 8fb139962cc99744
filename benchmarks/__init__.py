"""Benchmarks run as plain scripts (``.venv/bin/python -m benchmarks.<name>``)."""
