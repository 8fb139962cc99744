"""Host → QBO handlers: the shared context of a push, creating exactly once and
guarded updates (``write``), accountant-edit detection (``conflicts``), customers and
documents. The engine imports ``documents.HANDLERS``; nothing here imports the engine."""
