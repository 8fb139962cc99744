"""pytest plugin: QBO simulator fixtures for qbo_sync's tests and for host projects.

Registered through the ``pytest11`` entry point, so it is loaded by every pytest run in
an environment where qbo-sync is installed. It therefore imports nothing heavy at import
time (no Django models, not even the simulator): everything happens inside fixtures.

Fixtures:

- ``qbo_simulator``: a fresh in-process :class:`Simulator`, patched into ``requests`` at
  :data:`SIMULATOR_BASE_URL` (no socket); when Django is configured, ``QBO_SYNC`` is
  overridden so ``ENVIRONMENT="simulator"`` and ``SIMULATOR_URL`` points at it.
  Both simulator fixtures set ``OAUTHLIB_INSECURE_TRANSPORT=1`` while they run, because
  the simulator speaks plain http and requests-oauthlib refuses that otherwise.
- ``qbo_sim_server``: a fresh :class:`Simulator` served over real HTTP on a free port
  (``sim.base_url``), for end-to-end tests.
- ``qbo_connect``: a factory connecting a workspace to one of ``qbo_simulator``'s
  companies (``qbo_sync.testing.connections.connect_to_simulator``; needs ``db``).
- ``qbo_connection``: a connected ``qbo_sync.models.Connection`` for workspace
  ``"default"`` and the US realm of ``qbo_simulator``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest

#: Base URL the in-process simulator answers on (nothing listens there).
SIMULATOR_BASE_URL = "http://qbo-simulator.test"

_REALM_NAMES = ("US_REALM", "UK_REALM", "US_MC_REALM")


def __getattr__(name: str) -> Any:
    # Realm constants are re-exported lazily so loading the plugin stays cheap and
    # never fails because of the simulator package.
    if name in _REALM_NAMES:
        from .simulator import companies  # lazy: see the comment above

        return getattr(companies, name)
    raise AttributeError(name)


@contextmanager
def _insecure_oauth_transport() -> Iterator[None]:
    """requests-oauthlib refuses plain-http token URLs unless this variable is set; the
    simulator speaks http (in-process and on localhost)."""
    name = "OAUTHLIB_INSECURE_TRANSPORT"
    before = os.environ.get(name)
    os.environ[name] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@contextmanager
def _qbo_settings(base_url: str) -> Iterator[None]:
    """Point ``QBO_SYNC`` at ``base_url`` while the block runs, if Django is set up."""
    try:
        from django.conf import settings  # optional: the plugin also serves non-Django runs
    except ImportError:  # Django not installed: nothing to override
        yield
        return
    if not settings.configured:
        yield
        return
    from django.test import override_settings  # only once Django is known to be set up

    current = dict(getattr(settings, "QBO_SYNC", None) or {})
    overrides = {"ENVIRONMENT": "simulator", "SIMULATOR_URL": base_url}
    # The simulator's default OAuth client, unless the project configured its own.
    if not current.get("CLIENT_ID"):
        overrides.update(
            CLIENT_ID="simulator-client-id", CLIENT_SECRET="simulator-client-secret"
        )
    with override_settings(QBO_SYNC={**current, **overrides}):
        yield


@pytest.fixture
def qbo_simulator() -> Iterator[Any]:
    """A fresh in-process QBO simulator; ``requests`` to its base URL never open a socket."""
    # Loaded by every pytest run, so the simulator is imported only when a test asks.
    from .simulator import Simulator
    from .simulator.transport import patch_requests  # lazy, as above

    sim = Simulator()
    with ExitStack() as stack:
        stack.enter_context(patch_requests(sim, base_url=SIMULATOR_BASE_URL))
        stack.enter_context(_qbo_settings(SIMULATOR_BASE_URL))
        stack.enter_context(_insecure_oauth_transport())
        stack.callback(sim.close)
        yield sim


@pytest.fixture
def qbo_sim_server() -> Iterator[Any]:
    """A fresh simulator behind a real threaded HTTP server on a free local port."""
    # Loaded by every pytest run, so the simulator is imported only when a test asks.
    from .simulator import Simulator
    from .simulator.server import serve_in_thread  # lazy, as above

    sim = Simulator()
    server, base_url = serve_in_thread(sim, port=0)
    with ExitStack() as stack:
        stack.callback(sim.close)
        stack.callback(server.server_close)
        stack.callback(server.shutdown)
        stack.enter_context(_qbo_settings(base_url))
        stack.enter_context(_insecure_oauth_transport())
        yield sim


@pytest.fixture
def qbo_connect(db: Any, qbo_simulator: Any) -> Any:
    """A factory: ``qbo_connect(realm, workspace="default", **fields)`` connects a
    workspace to one of ``qbo_simulator``'s companies and returns the ``Connection``."""
    # Imported here: the plugin loads before Django is set up, and this needs models.
    from .connections import connect_to_simulator

    return lambda *args, **kwargs: connect_to_simulator(qbo_simulator, *args, **kwargs)


@pytest.fixture
def qbo_connection(qbo_connect: Any) -> Any:
    """A connected ``Connection`` for workspace ``"default"`` ↔ the simulator's US realm."""
    return qbo_connect()
