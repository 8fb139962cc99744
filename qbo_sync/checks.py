"""System checks (ids ``qbo_sync.E001``…)."""
