"""A value that must never be shown: access and refresh tokens, the OAuth client secret,
the webhook verifier token (docs/architecture.md, invariant 5).

A :class:`Secret` prints as ``••••`` wherever Python or Django shows it: ``repr``,
``str``, f-strings, logging, the frame variables of Django's technical 500 page and of
the error e-mails (``AdminEmailHandler``). The value comes out only through
:meth:`Secret.reveal`, at the moment it is used: building an ``Authorization`` header,
an HMAC, a token request. Reveal it inside an expression, never into a variable, so no
frame holds it in plain text.

This module imports nothing from qbo_sync, so every layer may use it.
"""

from __future__ import annotations

import hmac
from typing import Any, NoReturn

MASK = "••••"


class Secret:
    """A string that is masked everywhere but :meth:`reveal`. Immutable; compared in
    constant time; never pickled."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret = "") -> None:
        if isinstance(value, Secret):
            value = value._value
        if not isinstance(value, str):
            raise TypeError(f"A Secret holds a str, not {type(value).__name__}.")
        object.__setattr__(self, "_value", value)

    @classmethod
    def of(cls, value: str | Secret | None) -> Secret:
        """``value`` as a Secret (``None`` → an empty one); a Secret is returned as is."""
        if isinstance(value, Secret):
            return value
        return cls(value or "")

    def reveal(self) -> str:
        """The plain value. Use it inside the expression that sends it, nowhere else."""
        return self._value

    # Shown as a mask ------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"Secret('{MASK}')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return MASK if self._value else ""

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    # Value semantics, without leaking timing or contents ---------------------------------

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode("utf-8"), other._value.encode("utf-8"))

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("A Secret cannot be changed.")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        # A pickled Secret would land in a queue, a cache or a file in plain text.
        raise TypeError("A Secret is never pickled; pass what identifies it (a connection "
                        "id) and read it again where it is used.")
