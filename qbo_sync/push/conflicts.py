"""Tell an accountant's edit in QBO from our own last write (for 5010 handling).

We compare only the fields qbo_sync owns, normalised, between what we last wrote
(``EntityLink.last_payload``) and what QBO holds now. QBO adds fields of its own
(Ids, LineNum, SubTotalLine, tax details, Balance…), so those never count.

The stored payload is masked (emails, phone numbers): :func:`~qbo_sync.sync.links.as_written`
puts QBO's value back wherever it is the one we wrote, so only a real edit differs.
What the message shows is masked too, since it is kept on the job.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..mapping.hashing import mask_email, mask_phone
from ..sync.links import as_written

CUSTOMER_FIELDS = (
    "DisplayName", "CompanyName", "PrimaryEmailAddr.Address", "PrimaryPhone.FreeFormNumber",
    "BillAddr.Line1", "BillAddr.Line2", "BillAddr.City", "BillAddr.CountrySubDivisionCode",
    "BillAddr.PostalCode", "BillAddr.Country",
)
TRANSACTION_FIELDS = ("DocNumber", "TxnDate", "DueDate", "CustomerRef.value",
                      "CustomerMemo.value")


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _norm(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    try:
        return str(Decimal(str(value)).normalize())
    except (InvalidOperation, ValueError):
        return str(value).strip()


def _shown(name: str, value: str) -> str:
    """A value as the message may show it: emails and phone numbers masked, as in
    every stored payload (docs/architecture.md, invariant 5)."""
    return mask_email(mask_phone(value) if name.endswith("FreeFormNumber") else value)


def _sales_lines(obj: dict) -> list[tuple[str, ...]]:
    rows = []
    for line in obj.get("Line") or []:
        detail = line.get("SalesItemLineDetail")
        if line.get("DetailType") == "SalesItemLineDetail" and detail:
            rows.append((
                _norm(_get(detail, "ItemRef.value")), _norm(detail.get("Qty")),
                _norm(detail.get("UnitPrice")), _norm(line.get("Amount")),
                _norm(line.get("Description")), _norm(_get(detail, "TaxCodeRef.value")),
            ))
        elif line.get("DetailType") == "DiscountLineDetail":
            rows.append(("discount", _norm(line.get("Amount"))))
    return rows


def differences(last_written: dict, current: dict, *, customer: bool = False) -> list[str]:
    """Human-readable list of owned fields whose QBO value differs from our last write.

    Only fields we actually sent are compared; an empty list means QBO's change was
    somewhere we do not own (a payment applied, a memo of the accountant's…).
    """
    fields = CUSTOMER_FIELDS if customer else TRANSACTION_FIELDS
    last_written = as_written(last_written, current)
    out = []
    for name in fields:
        if _get(last_written, name) is None:
            continue
        ours, theirs = _norm(_get(last_written, name)), _norm(_get(current, name))
        if ours != theirs:
            shown_ours, shown_theirs = _shown(name, ours), _shown(name, theirs)
            note = " (masked)" if (shown_ours, shown_theirs) != (ours, theirs) else ""
            out.append(f"{name}: QuickBooks has {shown_theirs!r}, the app last sent "
                       f"{shown_ours!r}{note}")
    if not customer and not _sales_lines(last_written) and "TotalAmt" in last_written:
        # A payment: its amount is the one owned field with no line to carry it.
        ours, theirs = _norm(last_written["TotalAmt"]), _norm(current.get("TotalAmt"))
        if ours != theirs:
            out.append(f"TotalAmt: QuickBooks has {theirs!r}, the app last sent {ours!r}")
    if not customer and "Line" in last_written:
        ours_lines, theirs_lines = _sales_lines(last_written), _sales_lines(current)
        if ours_lines != theirs_lines:
            out.append(
                f"Line: QuickBooks has {len(theirs_lines)} line(s) that differ from the "
                f"{len(ours_lines)} the app last sent ("
                + "; ".join(_line_changes(ours_lines, theirs_lines)) + ")"
            )
    return out


def _num(text: str) -> str:
    """A normalised number as people write it (``5E+1`` → ``50``)."""
    try:
        return format(Decimal(text), "f")
    except (InvalidOperation, ValueError):
        return text


def _line(row: tuple[str, ...]) -> str:
    if row[0] == "discount":
        return f"discount {_num(row[1])}"
    item, qty, price, amount = row[0], *(_num(v) for v in row[1:4])
    tax = row[5]
    return f"{qty} × {price} = {amount} (item {item}{f', tax code {tax}' if tax else ''})"


def _line_changes(ours: list[tuple[str, ...]], theirs: list[tuple[str, ...]],
                  limit: int = 3) -> list[str]:
    """What differs, line by line, first ``limit`` of them. Descriptions are named, not
    shown: they are free text the stored message must not carry."""
    changes = []
    for n in range(max(len(ours), len(theirs))):
        mine = ours[n] if n < len(ours) else None
        other = theirs[n] if n < len(theirs) else None
        if mine == other:
            continue
        if mine is None or other is None:
            what = f"QuickBooks {_line(other)}" if other else "removed in QuickBooks"
        elif mine[:4] == other[:4] and mine[5:] == other[5:]:
            what = "description edited"
        else:
            what = f"QuickBooks {_line(other)}, the app sent {_line(mine)}"
        changes.append(f"line {n + 1}: {what}")
    if len(changes) > limit:
        changes = [*changes[:limit], f"{len(changes) - limit} more"]
    return changes
