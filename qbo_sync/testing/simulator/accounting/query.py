"""The QBO query language (docs/qbo-rules.md §8):

``SELECT * | COUNT(*) FROM Entity [WHERE c AND c ...] [ORDERBY f [ASC|DESC]]
[STARTPOSITION n] [MAXRESULTS n]`` with ``= < > <= >= IN (...) LIKE``. OR, parentheses
for grouping, unknown fields and bad syntax give 400 / 4000 "Error parsing query"."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ..entities import ENTITY_NAMES, NAME_LISTS, ApiError, parse_time, render
from .names import with_computed

if TYPE_CHECKING:
    from ..store import Store

DEFAULT_MAX, LIMIT_MAX = 100, 1000
_META = {"Id", "MetaData.CreateTime", "MetaData.LastUpdatedTime"}
_TXN = _META | {"DocNumber", "TxnDate", "TotalAmt", "CustomerRef", "CurrencyRef", "PrivateNote"}
_PERSON = _META | {"DisplayName", "GivenName", "MiddleName", "FamilyName", "CompanyName",
                   "PrimaryEmailAddr", "Active", "Title", "Suffix", "PrimaryPhone"}
FILTERABLE: dict[str, set[str]] = {
    "Invoice": _TXN | {"DueDate", "Balance", "EmailStatus", "PrintStatus"},
    "CreditMemo": _TXN | {"Balance", "RemainingCredit"},
    "RefundReceipt": _TXN | {"DepositToAccountRef"},
    "Payment": _TXN | {"UnappliedAmt", "DepositToAccountRef", "PaymentRefNum",
                       "PaymentMethodRef"},
    "Customer": _PERSON | {"Balance", "FullyQualifiedName", "Job", "CurrencyRef"},
    "Vendor": _PERSON | {"CurrencyRef"},
    "Employee": _PERSON,
    "Item": _META | {"Name", "Type", "Active", "Sku", "FullyQualifiedName", "UnitPrice",
                     "Taxable"},
    "Account": _META | {"Name", "AccountType", "AccountSubType", "Active", "Classification",
                        "FullyQualifiedName", "CurrencyRef", "SubAccount", "AcctNum"},
    "TaxCode": _META | {"Name", "Active", "Taxable", "TaxGroup"},
    "TaxRate": _META | {"Name", "Active", "RateValue"},
    "PaymentMethod": _META | {"Name", "Active", "Type"},
    "CompanyCurrency": _META | {"Code", "Name", "Active"},
    "CompanyInfo": _META, "Preferences": _META,
    "TimeActivity": _META | {"TxnDate"},
}
_TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?(?![\w.]))
    |(?P<op><=|>=|<>|!=|=|<|>)|(?P<punct>[(),*])|(?P<word>[A-Za-z_][\w.]*))""", re.X)
_KEYWORDS = {"select", "from", "where", "and", "or", "orderby", "order", "by", "asc", "desc",
             "startposition", "maxresults", "in", "like", "count", "not"}


@dataclass
class Query:
    entity: str
    count: bool = False
    where: list[tuple[str, str, list[str]]] = field(default_factory=list)
    order: tuple[str, bool] | None = None  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_MAX


def parse_error(detail: str) -> ApiError:
    return ApiError("4000", "Error parsing query", f"QueryParserError: {detail}")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str, int]] = []  # (kind, text, column)
        pos, text = 0, text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise parse_error(f'Encountered "{text[pos:pos + 1]}" at line 1, column '
                                  f"{pos + 1}. Was expecting a token (check the quoting: "
                                  "escape ' as \\')")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind), m.start(kind) + 1))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("eof", "<EOF>", 0)

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        self.i += 1
        return tok

    def keyword(self, *words: str) -> str | None:
        kind, text, _ = self.peek()
        if kind == "word" and text.lower() in words:
            self.i += 1
            return text.lower()
        return None

    def expect(self, what: str, ok: bool, tok: tuple[str, str, int]) -> None:
        if not ok:
            raise parse_error(f'Encountered "{tok[1]}" at line 1, column {tok[2]}. '
                              f"Was expecting: {what}")

    def value(self) -> str:
        kind, text, col = self.take()
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        self.expect("a quoted value", kind == "num" or (kind == "word" and text.lower() in
                                                         ("true", "false")), (kind, text, col))
        return text

    def parse(self) -> Query:
        self.expect("SELECT", self.keyword("select") is not None, self.peek())
        count = False
        if self.keyword("count"):
            for sym in ("(", "*", ")"):
                tok = self.take()
                self.expect(f'"{sym}"', tok[1] == sym, tok)
            count = True
        else:  # "*" or a column list; QBO returns full objects either way (§8)
            while True:
                tok = self.take()
                self.expect("* or a field", tok[1] == "*" or (tok[0] == "word" and tok[1]
                                                              .lower() not in _KEYWORDS), tok)
                if self.peek()[1] != ",":
                    break
                self.take()
        self.expect("FROM", self.keyword("from") is not None, self.peek())
        tok = self.take()
        entity = ENTITY_NAMES.get(tok[1].lower()) if tok[0] == "word" else None
        self.expect("an entity name", entity is not None, tok)
        q = Query(entity, count=count)
        if self.keyword("where"):
            q.where.append(self.condition(entity))
            while self.keyword("and"):
                q.where.append(self.condition(entity))
        if self.keyword("orderby") or (self.keyword("order") and self.keyword("by")):
            q.order = (self.field(entity), self.keyword("asc", "desc") == "desc")
        if self.keyword("startposition"):
            q.start = self.integer()
        if self.keyword("maxresults"):
            q.max_results = self.integer()
        self.expect("<EOF>", self.peek()[0] == "eof", self.peek())
        return q

    def integer(self) -> int:
        tok = self.take()
        text = tok[1].strip("'") if tok[0] == "str" else tok[1]
        self.expect("a number", text.isdigit(), tok)
        return int(text)

    def field(self, entity: str) -> str:
        tok = self.take()
        self.expect("a field name", tok[0] == "word" and tok[1].lower() not in _KEYWORDS, tok)
        names = {f.lower(): f for f in FILTERABLE.get(entity, _META)}
        if tok[1].lower() not in names:
            raise parse_error(f"property '{tok[1]}' is not queryable on {entity}; filter "
                              f"on one of {sorted(FILTERABLE.get(entity, _META))}")
        return names[tok[1].lower()]

    def condition(self, entity: str) -> tuple[str, str, list[str]]:
        self.expect("a field name (parentheses are not supported)", self.peek()[1] != "(",
                    self.peek())
        name = self.field(entity)
        kind, text, col = self.take()
        if kind == "op" and text in ("=", "<", ">", "<=", ">="):
            return name, text, [self.value()]
        op = text.lower() if kind == "word" else ""
        if op == "like":
            return name, "like", [self.value()]
        self.expect('one of "=", "<", ">", "<=", ">=", "IN", "LIKE"', op == "in",
                    (kind, text, col))
        tok = self.take()
        self.expect('"("', tok[1] == "(", tok)
        values = [self.value()]
        while self.peek()[1] == ",":
            self.take()
            values.append(self.value())
        tok = self.take()
        self.expect('")"', tok[1] == ")", tok)
        return name, "in", values


def parse(text: str) -> Query:
    """Parse a statement; raises ApiError 4000 (or 4001 for an out-of-range page)."""
    if not text or not text.strip():
        raise parse_error('Encountered "<EOF>" at line 1, column 1. Was expecting: SELECT')
    q = _Parser(text).parse()
    if q.max_results > LIMIT_MAX or q.start < 1:
        raise ApiError("4001", "Invalid query", "QueryValidationError: STARTPOSITION must be "
                       f">= 1 and MAXRESULTS at most {LIMIT_MAX}")
    return q


def _lookup(obj: dict, path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, dict):
        value = value.get("value", value.get("Address", value.get("FreeFormNumber")))
    return value


def _coerce(path: str, sample: Any, literal: Any) -> Any:
    """Bring a value to a comparable form, following the stored value's type."""
    if literal is None:
        return None
    if isinstance(sample, bool) or isinstance(literal, bool):
        return str(literal).lower() == "true"
    if isinstance(sample, Decimal):
        try:
            return Decimal(str(literal))
        except InvalidOperation:
            raise parse_error(f"{path} takes a number, got '{literal}'") from None
    if path.startswith("MetaData."):
        try:
            return parse_time(str(literal))
        except ValueError:
            raise parse_error(f"{path} takes a date-time, got '{literal}'") from None
    text = str(literal)
    if (path == "Id" or path.endswith("Ref")) and text.isdigit():
        return (0, int(text))  # numeric ids sort numerically and before "TAX"/"NON"
    if path == "Id" or path.endswith("Ref"):
        return (1, text.casefold())
    return text.casefold()


def _match(obj: dict, cond: tuple[str, str, list[str]]) -> bool:
    path, op, values = cond
    actual = _lookup(obj, path)
    if actual is None:
        return False
    left = _coerce(path, actual, actual)
    if op == "like":
        pattern = "".join(".*" if ch == "%" else re.escape(ch) for ch in values[0])
        return re.fullmatch(pattern, str(actual), re.IGNORECASE | re.DOTALL) is not None
    rights = [_coerce(path, actual, v) for v in values]
    if op == "in":
        return left in rights
    right = rights[0]
    try:
        return {"=": left == right, "<": left < right, ">": left > right,
                "<=": left <= right, ">=": left >= right}[op]
    except TypeError:
        return False


def run(store: Store, realm_id: str, text: str) -> dict:
    """Execute a statement; returns the ``QueryResponse`` object."""
    q = parse(text)
    rows = with_computed(store, realm_id, q.entity, store.raw_all(realm_id, q.entity))
    where = list(q.where)
    if q.entity in NAME_LISTS and not any(c[0] == "Active" for c in where):
        where.append(("Active", "=", ["true"]))  # name lists hide inactive (§5)
    rows = [r for r in rows if all(_match(r, c) for c in where)]
    if q.count:
        return {"totalCount": len(rows)}
    path, desc = q.order or ("Id", False)
    present = [r for r in rows if _lookup(r, path) is not None]
    present.sort(key=lambda r: _coerce(path, _lookup(r, path), _lookup(r, path)), reverse=desc)
    rows = present + [r for r in rows if _lookup(r, path) is None]
    page = rows[q.start - 1:q.start - 1 + q.max_results]
    if not page:
        return {}
    return {q.entity: [render(r) for r in page], "startPosition": q.start,
            "maxResults": len(page)}
