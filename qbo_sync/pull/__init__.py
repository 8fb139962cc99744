"""QBO → host: what changed (``changes``, CDC or queries), the plan of pull jobs
(``plan``), applying one to the host (``apply``, the engine's handler), the per-realm
lock, the catch-up cycle, and webhook deliveries (``notices`` parses and verifies,
``webhooks`` stores and processes)."""
