"""``QBO_SYNC["ALERTS"]``: the merged settings and the one place their rules live (the
system check qbo_sync.E012 and the service both ask here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.module_loading import import_string

from ..conf import DEFAULTS, app_settings

#: Every rule key, in the order messages list them (README "Alerts").
RULE_KEYS = ("failure_rate", "failed_unresolved", "reconnect", "token_chain", "read_budget",
             "reconciliation")

#: Notice kind → what it tells (``alerts.notices``); ``RECORD_NOTICES`` lists these keys.
NOTICE_KINDS: dict[str, str] = {
    "invoice_created": "an invoice the app created in QuickBooks",
    "payment_received": "a payment recorded in QuickBooks and taken into the app",
}

# key → (smallest, largest, whole numbers only); None: no bound.
_NUMBERS: dict[str, tuple[float, float | None, bool]] = {
    "INTERVAL_MINUTES": (1, 24 * 60, True),
    "REPEAT_HOURS": (0.1, None, False),
    "RESOLVE_AFTER_MINUTES": (0, None, False),
    "WEBHOOK_TIMEOUT": (0.1, 60, False),
    "FAILURE_RATE_PERCENT": (0, 99.99, False),
    "FAILURE_RATE_WINDOW_MINUTES": (1, None, True),
    "FAILURE_RATE_MIN_JOBS": (1, None, True),
    "FAILED_UNRESOLVED_MINUTES": (1, None, True),
    "TOKEN_CHAIN_DAYS": (1, 5 * 365, True),
    "READ_BUDGET": (1, None, True),
    "READ_BUDGET_PERCENT": (1, 100, False),
}


def alert_settings() -> dict[str, Any]:
    """``QBO_SYNC["ALERTS"]`` merged with the defaults (conf.Settings merges the dict)."""
    value = app_settings.ALERTS
    return dict(value) if isinstance(value, Mapping) else dict(DEFAULTS["ALERTS"])


def load(path: Any, what: str) -> Callable[..., Any]:
    """The callable a dotted path (or the callable itself) names."""
    target = import_string(path) if isinstance(path, str) else path
    if not callable(target):
        raise TypeError(f"{what} {path!r} is not callable")
    return target


def _number_problem(key: str, value: Any) -> str:
    if value is None and key == "READ_BUDGET":  # METERED_READS_PER_MONTH
        return ""
    low, high, whole = _NUMBERS[key]
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < low or (
            high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"{low} or more"
        noun = "a whole number" if whole else "a number"
        return (f"[{key!r}] must be {noun} {span} (got {value!r}); set it so, or leave it "
                f"out for the default ({DEFAULTS['ALERTS'][key]!r}).")
    return ""


def _path_problems(key: str, value: Any, *, allow_none: bool = False) -> list[str]:
    if value is None and allow_none:
        return []
    try:
        load(value, key)
    except (ImportError, TypeError, ValueError) as exc:
        return [f"[{key!r}] cannot be loaded ({exc}); give the dotted path of a callable "
                "that exists" + (", or None." if allow_none else ".")]
    return []


def _notice_problems(value: Any) -> list[str]:
    kinds = ", ".join(NOTICE_KINDS)
    fix = (f"[{'RECORD_NOTICES'!r}] must map a workspace to a list of notice kinds from "
           f"{kinds} (e.g. {{\"acme\": [\"payment_received\"]}}), or be {{}} for none")
    if not isinstance(value, Mapping):
        return [f"{fix} (got {type(value).__name__})."]
    found = []
    for workspace, chosen in value.items():
        if not isinstance(workspace, str) or not isinstance(chosen, (list, tuple)) \
                or any(kind not in NOTICE_KINDS for kind in chosen):
            found.append(f"{fix} (got {workspace!r}: {chosen!r}).")
    return found


def problems(value: Any) -> list[str]:
    """What is wrong with ``QBO_SYNC["ALERTS"]`` (merged with the defaults), one line
    per problem, each naming the fix; empty when it is all usable."""
    if not isinstance(value, Mapping):
        return [f"must be a dict of alert settings (got {type(value).__name__}); see README "
                '"Alerts" for the keys, or leave it out for the defaults.']
    defaults = DEFAULTS["ALERTS"]
    found = [f"has an unknown key {key!r}: remove it; the keys are {', '.join(defaults)}."
             for key in value if key not in defaults]
    for key in ("ENABLED", "DIGEST"):
        if not isinstance(value.get(key), bool):
            found.append(f"[{key!r}] must be True or False (got {value.get(key)!r}).")
    rules = value.get("RULES")
    if not isinstance(rules, (list, tuple)) or any(r not in RULE_KEYS for r in rules):
        found.append(f"[{'RULES'!r}] must be a list of rule keys from {', '.join(RULE_KEYS)} "
                     f"(got {rules!r}); list the rules to evaluate, or [] for none.")
    found += [p for key in _NUMBERS if (p := _number_problem(key, value.get(key)))]
    notifiers = value.get("NOTIFIERS")
    if not isinstance(notifiers, (list, tuple)):
        found.append(f"[{'NOTIFIERS'!r}] must be a list of dotted paths to notifier classes "
                     f"(got {type(notifiers).__name__}); use [] to send nothing.")
    else:
        for path in notifiers:
            found += _path_problems("NOTIFIERS", path)
    found += _path_problems("RECIPIENTS", value.get("RECIPIENTS"))
    found += _path_problems("READ_COUNT", value.get("READ_COUNT"), allow_none=True)
    found += _notice_problems(value.get("RECORD_NOTICES"))
    url = value.get("SECRET_WEBHOOK_URL")
    # The URL is a secret: the message never repeats it.
    if not isinstance(url, str) or (url and not url.startswith(("https://", "http://"))):
        found.append(f"[{'SECRET_WEBHOOK_URL'!r}] must be an http(s) URL, or \"\" for no webhook; "
                     "copy the incoming-webhook URL from your chat tool.")
    return found
