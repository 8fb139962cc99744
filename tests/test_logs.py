"""The JSON log format and the log context (qbo_sync.logs): one JSON object per line,
with the job's correlation id and QuickBooks' intuit_tid when present, never a secret."""

from __future__ import annotations

import json
import logging
import sys

from qbo_sync.logs import CorrelationFilter, JsonFormatter, correlation, current_correlation_id
from qbo_sync.secrets import Secret


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("qbo_sync.client", logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_line_is_json_with_both_ids() -> None:
    with correlation("1b4e28ba-2fa1-11d2-883f-0016d3cca427"):
        line = JsonFormatter().format(_record("QBO %s -> %s", "GET", 200, intuit_tid="tid-9"))
    entry = json.loads(line)
    assert entry["message"] == "QBO GET -> 200" and entry["level"] == "INFO"
    assert entry["logger"] == "qbo_sync.client" and entry["time"].endswith("+00:00")
    assert entry["correlation_id"] == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    assert entry["intuit_tid"] == "tid-9"
    # Outside a job neither id is made up.
    assert set(json.loads(JsonFormatter().format(_record("idle")))) == {
        "time", "level", "logger", "message"}


def test_an_explicit_correlation_id_wins_and_the_context_is_restored() -> None:
    with correlation("outer"):
        with correlation("inner"):
            assert current_correlation_id() == "inner"
        line = JsonFormatter().format(_record("x", correlation_id="given"))
        assert current_correlation_id() == "outer"
    assert json.loads(line)["correlation_id"] == "given"
    assert current_correlation_id() == ""


def test_secrets_never_reach_the_line() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.secret-access-token"
    record = _record("sent Authorization: Bearer %s refresh_token=%s with %s", token,
                     "RT-very-secret", Secret("the-client-secret"),
                     access_token="extra-token", headers={"Authorization": "Bearer x"})
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    for secret in (token, "RT-very-secret", "the-client-secret", "extra-token"):
        assert secret not in line
    assert "Authorization: Bearer ••••" in entry["message"]
    assert "refresh_token=••••" in entry["message"]
    assert "headers" not in entry and "access_token" not in entry


def test_a_traceback_is_kept_as_text_in_the_json() -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        record = logging.LogRecord("qbo_sync.engine", logging.ERROR, __file__, 1, "crashed",
                                   (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad value" in entry["exception"]


def test_the_filter_gives_plain_formats_the_correlation_id() -> None:
    record = _record("x")
    with correlation("abc"):
        assert CorrelationFilter().filter(record)
    assert logging.Formatter("%(correlation_id)s %(message)s").format(record) == "abc x"
