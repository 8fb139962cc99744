"""Testing support shipped with qbo_sync: an offline QuickBooks Online simulator
(:mod:`qbo_sync.testing.simulator`) and pytest fixtures (:mod:`qbo_sync.testing.fixtures`,
loaded automatically through the ``pytest11`` entry point). See ``README.md`` here.

Nothing is imported eagerly, so loading the pytest plugin stays cheap.
"""
