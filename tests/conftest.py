"""Shared fixtures. The simulator fixtures come from ``qbo_sync.testing.fixtures``
(registered as a pytest plugin by the package's entry point)."""
