"""Payments: applying to invoices (and credit memos), partial and multiple payments,
unapplied excess, void and delete (docs/qbo-rules.md §5.3)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ..companies import exchange_rate
from ..entities import business, dec, invalid_ref, money, ref_value, required
from .balances import Key, applied_total, refresh_balance, unapplied_amount
from .names import existing_for_update, merge
from .rules import check_same_currency, resolve_currency, resolve_ref

if TYPE_CHECKING:
    from ..store import Store

# Computed by QBO, so ignored on input whatever it holds (docs/qbo-rules.md §5.3
# "Read-only"). TotalAmt is not among them: on a Payment it is the amount received.
PAY_OUTPUT = frozenset({"UnappliedAmt", "MetaData", "domain", "time"})
PAY_READ_ONLY = {"Id", "SyncToken", "sparse", *PAY_OUTPUT}
APPLICABLE = ("Invoice", "CreditMemo")
ZERO = Decimal("0")


def payment_input(body: dict) -> dict:
    """The request without the read-only fields, before any value is checked."""
    return {k: v for k, v in body.items() if k not in PAY_OUTPUT}


def _targets(payment: dict | None) -> set[Key]:
    keys: set[Key] = set()
    for line in (payment or {}).get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            keys.add((link["TxnType"], str(link["TxnId"])))
    return keys


def _plan(store: Store, realm_id: str, obj: dict, customer: dict, pay_id: str | None
          ) -> tuple[list[dict], dict[Key, Decimal]]:
    """Validate ``Line[]``: normalised lines and the amount per linked transaction."""
    lines, alloc = [], {}
    for line in obj.get("Line") or []:
        if line.get("Amount") is None:
            raise required("Line.Amount")
        amount = money(dec(line["Amount"]))
        links = line.get("LinkedTxn") or []
        if not links:
            raise required("Line.LinkedTxn")
        link = links[0]
        kind, txn_id = link.get("TxnType"), ref_value({"value": link.get("TxnId")})
        if kind not in APPLICABLE:
            raise business(f"LinkedTxn TxnType {kind!r} is not supported here; link an "
                           "Invoice or a CreditMemo.", "Line.LinkedTxn.TxnType")
        target = store.raw(realm_id, kind, txn_id) if txn_id else None
        if target is None:
            raise invalid_ref("Line.LinkedTxn.TxnId")
        if ref_value(target.get("CustomerRef")) != customer["Id"]:
            raise business(f"{kind} {txn_id} belongs to another customer; a payment can only "
                           "be applied to its own customer's transactions.", "Line.LinkedTxn")
        if amount < 0:
            raise business("A payment line amount can't be negative.", "Line.Amount")
        alloc[(kind, txn_id)] = alloc.get((kind, txn_id), ZERO) + amount
        lines.append({**line, "Amount": amount,
                      "LinkedTxn": [{"TxnId": txn_id, "TxnType": kind}]})
    for (kind, txn_id), amount in alloc.items():
        target = store.raw(realm_id, kind, txn_id)
        mine = sum((a["Amount"] for a in target.get("_applied") or []
                    if a["TxnId"] == pay_id), ZERO)
        open_amount = target["TotalAmt"] - applied_total(target) + mine
        if amount > open_amount:
            what = "open balance" if kind == "Invoice" else "remaining credit"
            raise business(f"The amount applied to {kind} {txn_id} ({amount}) is more than its "
                           f"{what} ({open_amount}); apply at most {open_amount} and leave the "
                           "rest unapplied.", "Line.Amount")
    return lines, alloc


def _apply(store: Store, realm_id: str, pay_id: str, old: set[Key],
           alloc: dict[Key, Decimal]) -> None:
    """Point the linked transactions at this payment's new amounts; save each once."""
    for kind, txn_id in sorted(old | set(alloc)):
        target = store.raw(realm_id, kind, txn_id)
        if target is None:
            continue
        before = target.get("_applied") or []
        after = [a for a in before if a["TxnId"] != pay_id]
        amount = alloc.get((kind, txn_id))
        if amount:
            after.append({"TxnId": pay_id, "TxnType": "Payment", "Amount": amount})
        if after != before:
            target["_applied"] = after
            refresh_balance(kind, target)
            store.save(realm_id, kind, target, "Update")


def write_payment(store: Store, realm_id: str, body: dict, params: dict[str, str]) -> dict:
    """Create or update (full/sparse) a Payment."""
    is_update = body.get("Id") not in (None, "")
    existing = existing_for_update(store, realm_id, "Payment", body) if is_update else None
    if existing is not None and existing.get("_voided"):
        raise business(f"Payment {existing['Id']} is voided and can't be changed.")
    obj = merge(existing, body, PAY_READ_ONLY, body.get("sparse") is True)
    customer = resolve_ref(store, realm_id, "Customer", obj.get("CustomerRef"), "CustomerRef")
    obj["CustomerRef"] = {"value": customer["Id"], "name": customer["DisplayName"]}
    if obj.get("TotalAmt") is None:
        raise required("TotalAmt")
    total = money(dec(obj["TotalAmt"], "TotalAmt"))
    if total < 0:
        raise business("TotalAmt can't be negative; record a refund instead.", "TotalAmt")
    info = store.info(realm_id)
    ccy = resolve_currency(store, realm_id, obj.get("CurrencyRef"))
    check_same_currency(ccy["value"], customer)
    obj["CurrencyRef"] = ccy
    if info["multicurrency"]:
        if obj.get("ExchangeRate") is None or ccy["value"] == info["home_currency"]:
            obj["ExchangeRate"] = exchange_rate(info["home_currency"], ccy["value"])
    else:
        obj.pop("ExchangeRate", None)
    acct_ref = obj.get("DepositToAccountRef") or {"value": _undeposited_funds(store, realm_id)}
    account = resolve_ref(store, realm_id, "Account", acct_ref, "DepositToAccountRef")
    if account["AccountType"] not in ("Bank", "Other Current Asset"):
        raise business("DepositToAccountRef must be a Bank or Other Current Asset account.",
                       "DepositToAccountRef")
    obj["DepositToAccountRef"] = {"value": account["Id"], "name": account["Name"]}
    if obj.get("PaymentMethodRef"):
        method = resolve_ref(store, realm_id, "PaymentMethod", obj["PaymentMethodRef"],
                             "PaymentMethodRef")
        obj["PaymentMethodRef"] = {"value": method["Id"], "name": method["Name"]}
    pay_id = existing["Id"] if existing else None
    lines, alloc = _plan(store, realm_id, obj, customer, pay_id)
    unapplied = unapplied_amount(total, alloc)
    if unapplied < 0:
        raise business(f"The lines apply more than the payment brings (TotalAmt {total} plus "
                       "credits); raise TotalAmt or lower the line amounts.", "TotalAmt")
    obj.update(Line=lines, TotalAmt=total, UnappliedAmt=unapplied,
               TxnDate=obj.get("TxnDate") or store.clock.now().date().isoformat())
    obj.setdefault("ProcessPayment", False)
    saved = store.save(realm_id, "Payment", obj, "Update" if existing else "Create")
    _apply(store, realm_id, saved["Id"], _targets(existing), alloc)
    return saved


def void_payment(store: Store, realm_id: str, body: dict) -> dict:
    """``POST /payment?operation=update&include=void``: amounts 0, "Voided" note, the
    invoices it paid are open again (docs/qbo-rules.md §5.3)."""
    pay = existing_for_update(store, realm_id, "Payment", body)
    old = _targets(pay)
    for line in pay.get("Line") or []:
        line["Amount"] = ZERO
    note = pay.get("PrivateNote") or ""
    pay.update(TotalAmt=ZERO, UnappliedAmt=ZERO, _voided=True,
               PrivateNote="Voided" + (f" - {note}" if note else ""))
    saved = store.save(realm_id, "Payment", pay, "Void")
    _apply(store, realm_id, saved["Id"], old, {})
    return saved


def delete_payment(store: Store, realm_id: str, body: dict) -> dict:
    pay = existing_for_update(store, realm_id, "Payment", body)
    _apply(store, realm_id, pay["Id"], _targets(pay), {})
    return store.delete(realm_id, "Payment", pay["Id"])


def _undeposited_funds(store: Store, realm_id: str) -> str:
    for account in store.raw_all(realm_id, "Account"):
        if account.get("AccountSubType") == "UndepositedFunds":
            return account["Id"]
    raise invalid_ref("DepositToAccountRef (the company has no Undeposited Funds account)")


def record_for_invoice(store: Store, realm_id: str, invoice_id: str, amount: Decimal, *,
                       txn_date: str | None, method: str, reference: str) -> dict:
    """An accountant receives ``amount`` against one invoice in the QBO UI."""
    inv = store.raw(realm_id, "Invoice", invoice_id)
    if inv is None:
        raise KeyError(f"No Invoice {invoice_id} in realm {realm_id}")
    body: dict = {"CustomerRef": inv["CustomerRef"], "TotalAmt": amount,
                  "CurrencyRef": inv.get("CurrencyRef"),
                  "Line": [{"Amount": amount,
                            "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}]}
    if txn_date:
        body["TxnDate"] = txn_date
    if reference:
        body["PaymentRefNum"] = reference
    if method:
        methods = store.raw_all(realm_id, "PaymentMethod")
        match = [m for m in methods if m["Name"].casefold() == method.casefold()]
        if not match:
            raise ValueError(f"Unknown payment method {method!r}; use one of "
                             f"{[m['Name'] for m in methods]}")
        body["PaymentMethodRef"] = {"value": match[0]["Id"]}
    return write_payment(store, realm_id, body, {})
