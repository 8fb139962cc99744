"""A faithful, offline QuickBooks Online: OAuth, the Accounting API, webhooks.

Use it in-process (``transport.patch_requests``), over real HTTP
(``python -m qbo_sync.testing.simulator`` or ``server.serve_in_thread``), or through the
pytest fixtures in :mod:`qbo_sync.testing.fixtures`. See ``qbo_sync/testing/README.md``.
"""

from .app import RequestRecord, Simulator
from .companies import UK_REALM, US_MC_REALM, US_REALM
from .faults import FaultRule, SimulatedDrop, SimulatedTimeout
from .limits import Limits
from .wire import Clock, SimRequest, SimResponse

__all__ = [
    "Clock",
    "FaultRule",
    "Limits",
    "RequestRecord",
    "SimRequest",
    "SimResponse",
    "SimulatedDrop",
    "SimulatedTimeout",
    "Simulator",
    "UK_REALM",
    "US_MC_REALM",
    "US_REALM",
]
