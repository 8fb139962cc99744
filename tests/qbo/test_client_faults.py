"""Fault parsing: every code in docs/qbo-rules.md §4.2 and the odd shapes QBO really sends."""

from __future__ import annotations

import json

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from qbo_sync import exceptions as exc
from qbo_sync.qbo.faults import exception_from_fault, exception_from_response, normalize_code

TID = "1-6650a1b2-0123456789abcdef01234567"


def make_response(status: int, body: bytes | str = b"", headers: dict | None = None):
    response = requests.Response()
    response.status_code = status
    response._content = body.encode("utf-8") if isinstance(body, str) else body
    response.headers = CaseInsensitiveDict({"intuit_tid": TID, **(headers or {})})
    response.url = "https://quickbooks.api.intuit.com/v3/company/1/invoice"
    return response


def json_fault(code, message, detail="", element="", fault_type="ValidationFault"):
    return json.dumps({
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": code, "element": element}],
            "type": fault_type,
        },
        "time": "2026-07-10T12:00:00.000-07:00",
    })


def gateway_fault(code, message, detail, fault_type):
    # 3100/3200 come from the gateway with lower-case keys (docs/qbo-rules.md §4.1).
    return json.dumps({
        "fault": {
            "error": [{"message": message, "detail": detail, "code": code}],
            "type": fault_type,
        },
        "time": "2026-07-10T12:00:00.000-07:00",
    })


THROTTLE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-07-10T12:00:00">'
    '<Fault type="SERVICE"><Error code="3001">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.  Try again later</Detail>"
    "</Error></Fault></IntuitResponse>"
)

LAPSED_XML = (
    '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"><Fault type="ValidationFault">'
    '<Error code="007001"><Message>Subscription lapsed</Message>'
    "<Detail>Subscription for company has lapsed or Invalid destination URL is used.</Detail>"
    "</Error></Fault></IntuitResponse>"
)

# (id, status, body, class, code, message, detail, element)
CASES = [
    ("100", 401, json_fault("100", "General Authentication Error",
                            "AuthenticationErrorGeneral: SRV-110-Authentication Failure",
                            fault_type="AuthenticationFault"),
     exc.AuthenticationFailed, "100", "General Authentication Error",
     "AuthenticationErrorGeneral: SRV-110-Authentication Failure", ""),
    ("120", 403, json_fault("120", "Authorization Failure",
                            "AuthorizationFailure: -11014-You do not have access",
                            fault_type="AuthorizationFault"),
     exc.ReconnectRequired, "120", "Authorization Failure",
     "AuthorizationFailure: -11014-You do not have access", ""),
    ("3200", 401, gateway_fault("3200", "message=AuthenticationFailed; errorCode=003200; "
                                "statusCode=401", "Token expired", "AUTHENTICATION"),
     exc.AuthenticationFailed, "3200",
     "message=AuthenticationFailed; errorCode=003200; statusCode=401", "Token expired", ""),
    ("3100", 403, gateway_fault("3100", "message=ApplicationAuthorizationFailed; "
                                "errorCode=003100; statusCode=403", "Not authorised", "SERVICE"),
     exc.ReconnectRequired, "3100",
     "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
     "Not authorised", ""),
    ("3001-xml", 429, THROTTLE_XML, exc.Throttled, "3001",
     "message=ThrottleExceeded; errorCode=003001; statusCode=429",
     "The request limit was reached.  Try again later", ""),
    ("007001", 403, json_fault("007001", "Subscription lapsed",
                               "Sandbox company works with Sandbox URL"),
     exc.CompanyUnavailable, "7001", "Subscription lapsed",
     "Sandbox company works with Sandbox URL", ""),
    ("007001-xml", 403, LAPSED_XML, exc.CompanyUnavailable, "7001", "Subscription lapsed",
     "Subscription for company has lapsed or Invalid destination URL is used.", ""),
    ("6190", 400, json_fault("6190", "Invalid Company Status",
                             "Your subscription period has ended"),
     exc.CompanyUnavailable, "6190", "Invalid Company Status",
     "Your subscription period has ended", ""),
    ("600", 400, json_fault("600", "RequestId duplicate",
                            "RequestId already exists in the system"),
     exc.DuplicateRequestError, "600", "RequestId duplicate",
     "RequestId already exists in the system", ""),
    ("610", 400, json_fault("610", "Object Not Found", "Object Not Found : made inactive",
                            element="CustomerRef"),
     exc.NotFoundError, "610", "Object Not Found", "Object Not Found : made inactive",
     "CustomerRef"),
    ("2020", 400, json_fault("2020", "Required param missing",
                             "Required parameter Line is missing in the request", "Line"),
     exc.QBOValidationError, "2020", "Required param missing",
     "Required parameter Line is missing in the request", "Line"),
    ("2170", 400, json_fault("2170", "Invalid Enumeration", "Invalid Enumeration : Foo",
                             "DetailType"),
     exc.QBOValidationError, "2170", "Invalid Enumeration", "Invalid Enumeration : Foo",
     "DetailType"),
    ("2500", 400, json_fault("2500", "Invalid Reference Id",
                             "Invalid Reference Id : Line.SalesItemLineDetail.ItemRef"),
     exc.InvalidReferenceError, "2500", "Invalid Reference Id",
     "Invalid Reference Id : Line.SalesItemLineDetail.ItemRef", ""),
    ("5010", 400, json_fault("5010", "Stale Object Error", "Stale Object Error : You and Ann"),
     exc.StaleObjectError, "5010", "Stale Object Error", "Stale Object Error : You and Ann", ""),
    ("5020", 403, json_fault("5020", "Permission Denied Error", "No permission"),
     exc.QBOPermissionDenied, "5020", "Permission Denied Error", "No permission", ""),
    ("6000", 400, json_fault("6000", "A business validation error has occurred",
                             "Business Validation Error: closed period"),
     exc.BusinessRuleError, "6000", "A business validation error has occurred",
     "Business Validation Error: closed period", ""),
    ("6140", 400, json_fault("6140", "Duplicate Document Number Error",
                             "DocNumber=1001 is assigned to TxnType=Invoice with TxnId=5"),
     exc.DuplicateDocNumberError, "6140", "Duplicate Document Number Error",
     "DocNumber=1001 is assigned to TxnType=Invoice with TxnId=5", ""),
    ("6210", 400, json_fault("6210", "Account Period Closed", "The period is closed"),
     exc.PeriodClosedError, "6210", "Account Period Closed", "The period is closed", ""),
    ("6240", 400, json_fault("6240", "Duplicate Name Exists Error",
                             "The name supplied already exists. : Id=58", "DisplayName"),
     exc.DuplicateNameError, "6240", "Duplicate Name Exists Error",
     "The name supplied already exists. : Id=58", "DisplayName"),
    ("6540", 400, json_fault("6540", "Deposited Transaction cannot be changed",
                             "This transaction has been deposited"),
     exc.DepositedTransactionError, "6540", "Deposited Transaction cannot be changed",
     "This transaction has been deposited", ""),
    ("6070", 400, json_fault("6070", "Amount is not equal to UnitPrice * Qty",
                             "Amount is not equal to UnitPrice * Qty. Supplied value:10.01"),
     exc.AmountMismatchError, "6070", "Amount is not equal to UnitPrice * Qty",
     "Amount is not equal to UnitPrice * Qty. Supplied value:10.01", ""),
    ("4000", 400, json_fault("4000", "Error parsing query", "QueryParserError: Encountered"),
     exc.QueryError, "4000", "Error parsing query", "QueryParserError: Encountered", ""),
    ("4001", 400, json_fault("4001", "Invalid query", "QueryValidationError: bad field"),
     exc.QueryError, "4001", "Invalid query", "QueryValidationError: bad field", ""),
    ("4002", 500, json_fault("4002", "Error processing query",
                             "QueryProcessingError: To email address entered is invalid"),
     exc.QueryError, "4002", "Error processing query",
     "QueryProcessingError: To email address entered is invalid", ""),
    ("500", 500, json_fault("500", "Unsupported Operation", "Operation not supported",
                            fault_type="SystemFault"),
     exc.QBOValidationError, "500", "Unsupported Operation", "Operation not supported", ""),
]

# DuplicateRequestError is handled by the engine (look the record up); no one fixes it.
NOT_USER_FIXABLE = {"600"}


@pytest.mark.parametrize(
    "status,body,cls,code,message,detail,element",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_fault_codes(status, body, cls, code, message, detail, element):
    error = exception_from_response(make_response(status, body))
    assert type(error) is cls
    assert error.code == code
    assert error.message == message
    assert error.detail == detail
    assert error.element == element
    assert error.status_code == status
    assert error.intuit_tid == TID
    if code not in NOT_USER_FIXABLE:
        assert error.fix, f"{code} needs a fix text"
    assert TID in str(error)


def test_fault_type_is_kept():
    error = exception_from_response(make_response(401, gateway_fault(
        "3200", "message=AuthenticationFailed", "expired", "AUTHENTICATION")))
    assert error.fault_type == "AUTHENTICATION"
    throttle = exception_from_response(make_response(429, THROTTLE_XML))
    assert throttle.fault_type == "SERVICE"


def test_code_specific_fixes_name_what_to_do():
    wrong_env = exception_from_response(make_response(403, gateway_fault(
        "3100", "message=ApplicationAuthorizationFailed", "", "SERVICE")))
    assert "ENVIRONMENT" in wrong_env.fix
    business = exception_from_response(make_response(400, json_fault("6000", "x", "y")))
    assert "Sync Health" in business.fix


def test_gateway_code_only_in_message():
    body = json.dumps({"fault": {"error": [{
        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        "detail": "Token revoked"}], "type": "AUTHENTICATION"}})
    error = exception_from_response(make_response(401, body))
    assert isinstance(error, exc.AuthenticationFailed)
    assert error.code == "3200"


def test_flat_gateway_error_without_fault_wrapper():
    error = exception_from_response(make_response(401, '{"error": "invalid_token"}'))
    assert isinstance(error, exc.AuthenticationFailed)
    assert error.message == "invalid_token"


def test_single_error_object_instead_of_list():
    body = json.dumps({"Fault": {"Error": {"Message": "Stale", "code": "5010"}}})
    error = exception_from_response(make_response(400, body))
    assert isinstance(error, exc.StaleObjectError)


def test_several_errors_first_decides_all_kept():
    body = json.dumps({"Fault": {"Error": [
        {"Message": "Dup", "Detail": "dup", "code": "6240"},
        {"Message": "Missing", "Detail": "missing", "code": "2020"},
    ], "type": "ValidationFault"}})
    error = exception_from_response(make_response(400, body))
    assert isinstance(error, exc.DuplicateNameError)
    assert [e.code for e in error.errors] == ["6240", "2020"]


def test_empty_body_503():
    error = exception_from_response(make_response(503, b""))
    assert type(error) is exc.ServerError
    assert error.status_code == 503
    assert "503" in error.message
    assert error.code == ""
    assert error.intuit_tid == TID
    assert error.fix


def test_html_502_page():
    html = ("<html><head><title>502 Bad Gateway</title></head><body><center>"
            "<h1>502 Bad Gateway</h1></center></body></html>")
    error = exception_from_response(make_response(502, html, {"Content-Type": "text/html"}))
    assert type(error) is exc.ServerError
    assert "502" in error.message
    assert "Bad Gateway" in error.detail
    assert "<" not in error.detail


def test_broken_html_is_not_parsed_as_fault():
    error = exception_from_response(make_response(502, "<!DOCTYPE html><p>oops<br>"))
    assert type(error) is exc.ServerError


@pytest.mark.parametrize("status,cls", [
    (400, exc.QBOValidationError),
    (401, exc.AuthenticationFailed),
    (403, exc.ReconnectRequired),
    (404, exc.NotFoundError),
    (409, exc.QBOValidationError),
    (429, exc.Throttled),
    (500, exc.ServerError),
    (504, exc.ServerError),
])
def test_status_fallback_without_fault(status, cls):
    error = exception_from_response(make_response(status, "not json at all"))
    assert type(error) is cls
    assert error.status_code == status


@pytest.mark.parametrize("code,cls", [
    ("2999", exc.QBOValidationError),
    ("4999", exc.QBOValidationError),
    ("5999", exc.BusinessRuleError),
    ("9999", exc.BusinessRuleError),
    ("10000", exc.ServerError),
    ("000042", exc.QBOValidationError),  # 1-499 on a 400: fall back to the status
])
def test_unknown_codes_by_range(code, cls):
    error = exception_from_response(make_response(400, json_fault(code, "Something", "x")))
    assert type(error) is cls
    assert error.code == normalize_code(code)


def test_unknown_auth_range_code_uses_status():
    error = exception_from_response(make_response(401, json_fault("42", "Auth", "x")))
    assert type(error) is exc.AuthenticationFailed


def test_batch_item_fault():
    fault = {"Error": [{"Message": "Duplicate Name Exists Error", "Detail": "Id=58",
                        "code": "6240", "element": ""}], "type": "ValidationFault"}
    error = exception_from_fault(fault, status_code=200, intuit_tid=TID)
    assert isinstance(error, exc.DuplicateNameError)
    assert error.intuit_tid == TID


@pytest.mark.parametrize("raw,expected", [
    ("007001", "7001"), ("003200", "3200"), (6240, "6240"), ("0", "0"), ("", ""), (None, ""),
])
def test_normalize_code(raw, expected):
    assert normalize_code(raw) == expected


# The client's handling of these responses (HTTP mocked with ``responses``) -------------

API = "http://qbo.test"


@pytest.fixture
def fake_oauth(monkeypatch, settings):
    """Token functions that hand out "token-1", then "token-2" after a refresh."""
    # Offline: no database, so the call budget stays in this process's memory.
    settings.QBO_SYNC = {"ENVIRONMENT": "simulator", "SIMULATOR_URL": API,
                         "RATE_LIMIT_STORAGE": "memory://"}
    state = {"token": "token-1", "refreshed_with": []}

    def get_access_token(connection):
        return state["token"]

    def refresh_tokens(connection, *, stale_access_token=None):
        # The client hands the token on as a Secret, never as a plain string.
        state["refreshed_with"].append(stale_access_token.reveal())
        state["token"] = "token-2"
        return connection  # like qbo_sync.oauth.refresh_tokens

    from qbo_sync.connection import oauth

    monkeypatch.setattr(oauth, "get_access_token", get_access_token)
    monkeypatch.setattr(oauth, "refresh_tokens", refresh_tokens)
    return state


@pytest.fixture
def http():
    import responses

    with responses.RequestsMock() as mock:
        yield mock


def offline_client():
    from qbo_sync.connection.clients import client_for
    from qbo_sync.models import Connection

    return client_for(Connection(workspace="w", realm_id="123", minor_version=75))


URL = f"{API}/v3/company/123/customer/1"


def test_fault_inside_a_200_is_raised(fake_oauth, http):
    http.get(URL, status=200, body=json_fault("5010", "Stale Object Error", "stale"),
             headers={"intuit_tid": TID})
    with pytest.raises(exc.StaleObjectError) as info:
        offline_client().read("customer", "1")
    assert info.value.intuit_tid == TID and info.value.status_code == 200


def test_non_json_200_is_a_server_error(fake_oauth, http):
    http.get(URL, status=200, body="<html>maintenance</html>")
    with pytest.raises(exc.ServerError):
        offline_client().read("customer", "1")


def test_401_refreshes_with_the_token_used_and_retries_once(fake_oauth, http):
    http.get(URL, status=401, body=gateway_fault("3200", "AuthenticationFailed", "expired",
                                                 "AUTHENTICATION"))
    http.get(URL, status=200, body=json.dumps({"Customer": {"Id": "1"}}))
    assert offline_client().read("customer", "1") == {"Id": "1"}
    assert fake_oauth["refreshed_with"] == ["token-1"]
    auth = [c.request.headers["Authorization"] for c in http.calls]
    assert auth == ["Bearer token-1", "Bearer token-2"]


def test_401_authorization_failure_is_not_refreshed(fake_oauth, http):
    http.get(URL, status=401, body=json_fault("120", "Authorization Failure", "no access"))
    with pytest.raises(exc.ReconnectRequired) as info:
        offline_client().read("customer", "1")
    assert info.value.code == "120"
    assert fake_oauth["refreshed_with"] == []
    assert len(http.calls) == 1


def test_tokens_never_reach_error_text_or_logs(fake_oauth, http, caplog):
    caplog.set_level("DEBUG", logger="qbo_sync")
    http.get(URL, status=401)
    http.get(URL, status=401)
    with pytest.raises(exc.AuthenticationFailed) as info:
        offline_client().read("customer", "1")
    for text in (str(info.value), repr(info.value.as_dict()), caplog.text):
        assert "token-1" not in text and "token-2" not in text
    assert "GET 123/customer/1 -> 401" in caplog.text
