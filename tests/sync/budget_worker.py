"""A worker process for the pacing test: it sets Django up on the test database, spends
the shared budget of one realm and reports the moment each call was let through (the
timestamp the database storage logged, taken under the key's lock)."""

from __future__ import annotations

import os
from typing import Any


def spend(realm: str, calls: int, limit: int, window: int, start: Any, out: Any) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django  # noqa: PLC0415 - a spawned process sets Django up itself

    django.setup()
    from django.conf import settings  # noqa: PLC0415 - needs the setup above
    from django.db import connections  # noqa: PLC0415
    from django.test import override_settings  # noqa: PLC0415

    from qbo_sync.qbo import throttle  # noqa: PLC0415
    from qbo_sync.sync import budget as store  # noqa: PLC0415

    connections["default"].settings_dict["NAME"] = os.environ["QBO_TEST_DB"]
    throttle.WINDOW_SECONDS, throttle.WINDOW_MARGIN_SECONDS = window, 0
    logged: list[float] = []
    real_time = store.time.time
    last = [0.0]

    class Clock:  # the storage's clock, remembering the moment it stamped
        @staticmethod
        def time() -> float:
            last[0] = real_time()
            return last[0]

    store.time = Clock  # type: ignore[assignment]
    acquire = store.DatabaseStorage.acquire_entry

    def spy(self: Any, key: str, *args: Any, **kwargs: Any) -> bool:
        took = acquire(self, key, *args, **kwargs)
        if took and "/requests/" in key:
            logged.append(last[0])
        return took

    store.DatabaseStorage.acquire_entry = spy  # type: ignore[method-assign]
    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "RATE_LIMIT_PER_MINUTE": limit,
                                     "RATE_LIMIT_MAX_WAIT": 30}):
        start.wait(60)
        for _ in range(calls):
            with throttle.budget(realm):
                pass
    out.put((os.getpid(), logged))
