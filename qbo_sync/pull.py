"""Pull from QBO (being built)."""

HANDLERS: dict = {}
