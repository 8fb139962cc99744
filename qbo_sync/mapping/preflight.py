"""Everything QBO would reject, found before any call.

``*_problems`` return the errors (``MappingError`` / ``ConfigurationError``, each
message naming the fix); ``preflight_*`` return just the messages. The payload
builders run the same checks and raise, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from ..data import ContactData, CreditMemoData, InvoiceData, LineData, PaymentData, RefundData
from ..exceptions import ConfigurationError, MappingError, QBOSyncError
from .context import GLOBAL_TAX_CALCULATIONS, NUMBER_STRATEGIES, MappingContext
from .customers import contact_email, contact_phone, customer_display_name, describe_contact
from .lines import (
    DISCOUNT_FIX,
    inclusive_split,
    line_discount,
    lines_total,
    resolve_item,
    resolve_tax_code,
)
from .text import as_decimal, fits_qbo_number, line_amount, money_str, problem, single_line

Problems = list[QBOSyncError]

DEPOSIT_ACCOUNT_FIX = "Settings → Default Deposit Account"
PRECISION_FIX = "round it to at most 5 decimal places and 10 digits before the point"


def describe(kind: str, number: str, key: str) -> str:
    """How messages name a record: "Invoice INV-7", or "Invoice id 42" without a number."""
    number = single_line(number)
    return f"{kind} {number}" if number else f"{kind} id {key}"


def _collect(problems: Problems, check: Callable[[], object]) -> None:
    """Run ``check``; keep what it raises instead of stopping at the first problem."""
    try:
        check()
    except (MappingError, ConfigurationError) as err:
        if all(err.message != p.message for p in problems):
            problems.append(err)


def _not_a_number(where: str, label: str, raw: object, fix: str) -> MappingError:
    if raw is None:
        return problem(MappingError, f"{where} has no {label}", fix)
    # Money and quantities are Decimal end to end; a float is the adapter's bug.
    return problem(
        MappingError,
        f"{where} has {label} {raw!r}, which is not a Decimal",
        "make the host adapter pass Decimal values",
    )


def _line_problems(lines: Sequence[LineData], ctx: MappingContext, what: str) -> Problems:
    problems: Problems = []
    for number, line in enumerate(lines, start=1):
        where = f"{what}, line {number},"
        quantity, price = as_decimal(line.quantity), as_decimal(line.unit_price)
        if quantity is None:
            problems.append(_not_a_number(where, "quantity", line.quantity, "set a quantity"))
        elif quantity == 0:
            problems.append(
                problem(MappingError, f"{where} has quantity 0", "set a quantity or drop the line")
            )
        elif not fits_qbo_number(quantity):
            problems.append(
                problem(MappingError, f"{where} has quantity {quantity}", PRECISION_FIX)
            )
        if price is None:
            problems.append(
                _not_a_number(where, "unit price", line.unit_price, "set a price (0 is allowed)")
            )
        elif not fits_qbo_number(price):
            problems.append(problem(MappingError, f"{where} has unit price {price}", PRECISION_FIX))
        discount = as_decimal(line.discount) if line.discount is not None else Decimal(0)
        if discount is None or discount < 0:
            problems.append(
                problem(
                    MappingError,
                    f"{where} has discount {line.discount!r}",
                    "enter the discount as a positive amount off the line",
                )
            )
        elif quantity is not None and price is not None:
            amount = line_amount(quantity, price)
            if not fits_qbo_number(amount):
                problems.append(
                    problem(MappingError, f"{where} amounts to {amount}", "split the line")
                )
            elif line_discount(line) > abs(amount):
                problems.append(
                    problem(
                        MappingError,
                        f"{where} has a discount of {money_str(discount)} on an amount of "
                        f"{money_str(amount)}",
                        "make the discount no larger than the line amount",
                    )
                )
        _collect(problems, lambda line=line: resolve_item(line, ctx))
        _collect(problems, lambda line=line: resolve_tax_code(line, ctx))
    return problems


def _number_problems(number: str, ctx: MappingContext, what: str) -> Problems:
    if ctx.number_strategy not in NUMBER_STRATEGIES:
        return [
            problem(
                ConfigurationError,
                f"Invoice number strategy {ctx.number_strategy!r} is unknown",
                "Settings → Invoice number strategy",
            )
        ]
    if ctx.number_strategy == "app" and not single_line(number):
        return [
            problem(
                MappingError,
                f"{what} has no number",
                "give it a number, or set Settings → Invoice number strategy to "
                "'Let QuickBooks number invoices'",
            )
        ]
    return []


def _sales_problems(
    *,
    what: str,
    number: str,
    contact_key: str,
    currency: str,
    lines: Sequence[LineData],
    ctx: MappingContext,
    exchange_rate: Decimal | None = None,
    discount: object = Decimal(0),
    inclusive: bool = False,
) -> Problems:
    """Checks shared by Invoice, CreditMemo and RefundReceipt."""
    problems: Problems = []
    if inclusive:
        problems += _inclusive_problems(lines, ctx, what, discount)
    if not (contact_key or "").strip():
        problems.append(problem(MappingError, f"{what} has no contact", "choose a customer"))
    problems += _number_problems(number, ctx, what)
    _collect(problems, lambda: ctx.currency_ref(currency, what))
    if exchange_rate is not None:
        rate = as_decimal(exchange_rate)
        if rate is None or rate <= 0 or not fits_qbo_number(rate):
            problems.append(
                problem(
                    MappingError,
                    f"{what} has exchange rate {exchange_rate!r}",
                    "set a positive rate (home-currency units per 1 foreign unit) "
                    "with at most 5 decimal places",
                )
            )
    if not ctx.is_us and ctx.global_tax_calculation not in GLOBAL_TAX_CALCULATIONS:
        problems.append(
            problem(
                ConfigurationError,
                f"Tax calculation {ctx.global_tax_calculation!r} is unknown",
                "choose " + ", ".join(GLOBAL_TAX_CALCULATIONS),
            )
        )
    if not lines:
        # QBO: "Required parameter Line is missing" (2020, docs/qbo-rules.md §4.2).
        problems.append(problem(MappingError, f"{what} has no lines", "add at least one line"))
        return problems
    line_problems = _line_problems(lines, ctx, what)
    problems += line_problems
    if line_problems:
        return problems  # totals of broken lines mean nothing
    total = lines_total(lines) - _discount_problems(problems, discount, lines_total(lines),
                                                   ctx, what)
    if total < 0:
        # Negative totals are a business validation error (6000, docs/qbo-rules.md §4.2).
        problems.append(
            problem(
                MappingError,
                f"{what} totals {money_str(total)}; QuickBooks rejects a negative total",
                "correct the lines, or record the difference as a credit note",
            )
        )
    return problems


def _inclusive_problems(lines: Sequence[LineData], ctx: MappingContext, what: str,
                        discount: object) -> Problems:
    """Tax-inclusive prices: non-US only (GlobalTaxCalculation, docs/qbo-rules.md §5.2),
    with numeric rates to take the tax out of, and discounts on the lines."""
    found: Problems = []
    if ctx.is_us:
        found.append(problem(MappingError, f"{what} has prices that include tax, which a US "
                             "company cannot take", "send US prices before tax"))
    if any(inclusive_split([line]) is None for line in lines):
        found.append(problem(MappingError, f"{what} has prices that include tax but a tax "
                             "rate that is not a number", "give each line a numeric tax rate"))
    if discount:
        found.append(problem(MappingError, f"{what} has prices that include tax and a "
                             "discount on the whole document", "put the discount on the lines"))
    return found


def _discount_problems(problems: Problems, discount: object, subtotal: Decimal,
                       ctx: MappingContext, what: str) -> Decimal:
    """Check a document-level discount; returns it (0 when unusable)."""
    value = as_decimal(discount) if discount is not None else Decimal(0)
    if value is None or value < 0 or not fits_qbo_number(value):
        problems.append(problem(MappingError, f"{what} has discount {discount!r}",
                                "enter the discount as a positive amount off the total"))
        return Decimal(0)
    if not value:
        return value
    if not ctx.allow_discount:
        problems.append(problem(MappingError, f"{what} has a discount", DISCOUNT_FIX))
    if value > subtotal:
        problems.append(problem(
            MappingError, f"{what} has a discount of {money_str(value)} on "
            f"{money_str(subtotal)}", "make the discount no larger than the lines' total"))
    return value


def invoice_problems(invoice: InvoiceData, ctx: MappingContext) -> Problems:
    what = describe("Invoice", invoice.number, invoice.key)
    return _sales_problems(
        what=what, number=invoice.number, contact_key=invoice.contact_key,
        currency=invoice.currency, lines=invoice.lines, ctx=ctx,
        exchange_rate=invoice.exchange_rate, discount=invoice.discount,
        inclusive=invoice.prices_include_tax,
    )


def credit_memo_problems(memo: CreditMemoData, ctx: MappingContext) -> Problems:
    what = describe("Credit note", memo.number, memo.key)
    return _sales_problems(
        what=what, number=memo.number, contact_key=memo.contact_key,
        currency=memo.currency, lines=memo.lines, ctx=ctx, discount=memo.discount,
        inclusive=memo.prices_include_tax,
    )


def refund_problems(refund: RefundData, ctx: MappingContext) -> Problems:
    what = describe("Refund", refund.number, refund.key)
    problems = _sales_problems(
        what=what, number=refund.number, contact_key=refund.contact_key,
        currency=refund.currency, lines=refund.lines, ctx=ctx, discount=refund.discount,
        inclusive=refund.prices_include_tax,
    )
    # DepositToAccountRef is required on a RefundReceipt (docs/qbo-rules.md §5.5).
    if not ctx.default_deposit_account_id:
        problems.insert(0, deposit_account_missing())
    return problems


def deposit_account_missing() -> ConfigurationError:
    return problem(ConfigurationError, "Default Deposit Account is not set", DEPOSIT_ACCOUNT_FIX)


def payment_problems(
    payment: PaymentData, ctx: MappingContext, *, invoice_currency: str | None = None
) -> Problems:
    """``invoice_currency``: the linked invoice's currency, when known, since a payment
    must be in its invoice's currency (docs/qbo-rules.md §5.3)."""
    what = describe("Payment", "", payment.key)
    problems: Problems = []
    if not ctx.default_deposit_account_id:
        problems.append(deposit_account_missing())
    if not (payment.contact_key or "").strip():
        problems.append(problem(MappingError, f"{what} has no contact", "choose a customer"))
    amount = as_decimal(payment.amount)
    if amount is None or amount <= 0:
        shown = money_str(amount) if amount is not None else repr(payment.amount)
        problems.append(
            problem(
                MappingError,
                f"{what} has amount {shown}; QuickBooks needs more than zero",
                "correct the payment amount",
            )
        )
    elif not fits_qbo_number(amount):
        problems.append(problem(MappingError, f"{what} has amount {amount}", PRECISION_FIX))
    _collect(problems, lambda: ctx.currency_ref(payment.currency, what))
    if invoice_currency is not None:
        mine = (payment.currency or "").strip().upper() or ctx.home_currency
        theirs = (invoice_currency or "").strip().upper() or ctx.home_currency
        if mine != theirs:
            problems.append(
                problem(
                    MappingError,
                    f"{what} is in {mine} but its invoice is in {theirs}",
                    "record the payment in the invoice's currency",
                )
            )
    return problems


def contact_problems(contact: ContactData, ctx: MappingContext) -> Problems:
    problems: Problems = []
    _collect(problems, lambda: customer_display_name(contact))
    _collect(problems, lambda: contact_email(contact))
    _collect(problems, lambda: contact_phone(contact))
    if ctx.multicurrency and (contact.currency or "").strip():
        _collect(problems, lambda: ctx.currency_ref(contact.currency, describe_contact(contact)))
    return problems


def _messages(problems: Problems) -> list[str]:
    return [p.message for p in problems]


def preflight_invoice(invoice: InvoiceData, ctx: MappingContext) -> list[str]:
    """Messages for everything QBO would reject in this invoice; empty when fine."""
    return _messages(invoice_problems(invoice, ctx))


def preflight_credit_memo(memo: CreditMemoData, ctx: MappingContext) -> list[str]:
    return _messages(credit_memo_problems(memo, ctx))


def preflight_refund(refund: RefundData, ctx: MappingContext) -> list[str]:
    return _messages(refund_problems(refund, ctx))


def preflight_payment(
    payment: PaymentData, ctx: MappingContext, *, invoice_currency: str | None = None
) -> list[str]:
    return _messages(payment_problems(payment, ctx, invoice_currency=invoice_currency))


def preflight_contact(contact: ContactData, ctx: MappingContext) -> list[str]:
    return _messages(contact_problems(contact, ctx))
