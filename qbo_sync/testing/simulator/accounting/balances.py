"""What ties sales transactions and payments together: the amounts applied, the open
balance they leave, and unlinking a payment from a transaction (docs/qbo-rules.md §5.2-§5.4).

Sales and payments both need these, so they live below both."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ..entities import money

if TYPE_CHECKING:
    from ..store import Store

Key = tuple[str, str]
ZERO = Decimal("0")


def applied_total(obj: dict) -> Decimal:
    return sum((a["Amount"] for a in obj.get("_applied") or []), ZERO)


def refresh_balance(entity: str, obj: dict) -> None:
    """Balance (and RemainingCredit) from TotalAmt minus what payments applied, and the
    read-only LinkedTxn list that shows those payments (docs/qbo-rules.md §5.2, §5.4)."""
    applied = obj.get("_applied") or []
    open_amount = obj["TotalAmt"] - applied_total(obj)
    if entity == "Invoice":
        obj["Balance"] = open_amount
    elif entity == "CreditMemo":
        obj["Balance"] = open_amount
        obj["RemainingCredit"] = open_amount
    obj["LinkedTxn"] = [{"TxnId": a["TxnId"], "TxnType": a["TxnType"]} for a in applied]
    rate = obj.get("ExchangeRate")
    if rate is not None and rate != 1:
        obj["HomeTotalAmt"] = money(obj["TotalAmt"] * rate)
        if "Balance" in obj:
            obj["HomeBalance"] = money(obj["Balance"] * rate)


def unapplied_amount(total: Decimal, alloc: dict[Key, Decimal]) -> Decimal:
    credits = sum((a for (k, _), a in alloc.items() if k == "CreditMemo"), ZERO)
    applied = sum((a for (k, _), a in alloc.items() if k == "Invoice"), ZERO)
    return total + credits - applied


def unlink_from_payments(store: Store, realm_id: str, entity: str, txn_id: str) -> None:
    """Take ``entity`` ``txn_id`` out of every payment applied to it (UI void/delete): the
    payments keep their TotalAmt and the freed amount becomes UnappliedAmt."""
    target = store.raw(realm_id, entity, txn_id)
    for app in target.get("_applied") or []:
        pay = store.raw(realm_id, "Payment", app["TxnId"])
        if pay is None:
            continue
        pay["Line"] = [ln for ln in pay.get("Line") or []
                       if (ln["LinkedTxn"][0]["TxnType"], ln["LinkedTxn"][0]["TxnId"])
                       != (entity, txn_id)]
        alloc: dict[Key, Decimal] = {}
        for ln in pay["Line"]:
            key = (ln["LinkedTxn"][0]["TxnType"], ln["LinkedTxn"][0]["TxnId"])
            alloc[key] = alloc.get(key, ZERO) + ln["Amount"]
        pay["UnappliedAmt"] = unapplied_amount(pay["TotalAmt"], alloc)
        store.save(realm_id, "Payment", pay, "Update")
    target["_applied"] = []
    refresh_balance(entity, target)
