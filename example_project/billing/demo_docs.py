"""Invoices, payments, credit memos, refunds and tasks for the demo (see demo.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from . import demo_data as words
from . import money
from .models import (
    Contact,
    CreditMemo,
    CreditMemoLine,
    Invoice,
    InvoiceLine,
    Payment,
    Refund,
    RefundLine,
    Task,
    TimeEntry,
)
from .services import (
    CREDIT_MEMO_PREFIX,
    INVOICE_PREFIX,
    REFUND_PREFIX,
    default_tax_rate_for,
    lines_from_time_entries,
)

if TYPE_CHECKING:
    from .demo import DemoBuilder

STATUS_SHARE = {"draft": 15, "sent": 30, "paid": 45, "void": 10}
TASK_SHARE = {"backlog": 25, "in_progress": 30, "ready_to_invoice": 15, "invoiced": 15,
              "completed": 15}
#: A task's status → the status of the invoice billing it.
TASK_INVOICE_STATUS = {"ready_to_invoice": "draft", "invoiced": "sent", "completed": "paid"}
METHODS = {"USD": ["card", "check", "bank_transfer"], "GBP": ["bank_transfer", "card"],
           "EUR": ["bank_transfer"]}


def spread(n: int, shares: dict[str, int]) -> list[str]:
    """``n`` labels split by ``shares`` (largest remainder), each label at least once
    when ``n`` allows, so small demos still show every case."""
    total = sum(shares.values())
    counts = {k: n * v // total for k, v in shares.items()}
    order = sorted(shares, key=lambda k: (n * shares[k] % total), reverse=True)
    for k in order[: n - sum(counts.values())]:
        counts[k] += 1
    for k in shares:  # borrow one from the largest bucket for any empty one
        if counts[k] == 0 and n >= len(shares):
            counts[max(counts, key=counts.get)] -= 1
            counts[k] = 1
    return [k for k, c in counts.items() for _ in range(c)]


@dataclass
class Doc:
    """An invoice being built, with its unsaved lines and payments."""

    invoice: Invoice
    lines: list[InvoiceLine]
    payments: list[Payment] = field(default_factory=list)


class DocumentBuilder:
    def __init__(self, demo: DemoBuilder, contacts: list[Contact]) -> None:
        self.demo, self.rng, self.today = demo, demo.rng, demo.today
        self.contacts = contacts
        self.numbers: Counter = Counter()

    def build(self) -> None:
        tasks = self._plan_tasks()
        task_docs = [t for t in tasks if t["doc"] is not None]
        n_plain = max(0, self.demo.n_invoices - len(task_docs))
        # Every (workspace, currency) group gets an invoice first, then contacts at random.
        groups: dict[tuple[str, str], Contact] = {}
        for contact in self.contacts:
            groups.setdefault((contact.workspace.slug, contact.currency), contact)
        picks = list(groups.values())[:n_plain]
        picks += [self.rng.choice(self.contacts) for _ in range(n_plain - len(picks))]
        statuses = spread(n_plain, STATUS_SHARE)
        self.rng.shuffle(statuses)
        docs = [self._invoice(c, s) for c, s in zip(picks, statuses, strict=True)]
        docs += [t["doc"] for t in task_docs]
        self._save(docs)
        self._save_tasks(tasks)
        self._credits_and_refunds(docs)

    # Invoices -------------------------------------------------------------

    def _invoice(self, contact: Contact, status: str) -> Doc:
        issue = self.today - timedelta(days=self.rng.randint(0, 120))
        lines = [self._line(contact, i) for i in range(self.rng.randint(1, 6))]
        return self._doc(contact, status, issue, lines)

    def _doc(self, contact: Contact, status: str, issue, lines: list[InvoiceLine]) -> Doc:
        ws = contact.workspace
        memo = self.rng.choice(words.MEMOS).format(n=self.rng.randint(1000, 9999))
        invoice = Invoice(
            workspace=ws, contact=contact, status=status, issue_date=issue,
            due_date=issue + timedelta(days=ws.payment_terms_days), currency=contact.currency,
            memo=memo, sent_at=None if status == "draft" else self.demo.noon(issue),
        )
        doc = Doc(invoice, lines)
        total = money.totals(lines)["total"]
        if status == "paid":
            self._pay(doc, total, partial=False)
        elif status == "sent" and self.rng.random() < 0.35:
            self._pay(doc, total, partial=True)
        return doc

    def _line(self, contact: Contact, position: int) -> InvoiceLine:
        rng = self.rng
        category = rng.choice(list(words.CATEGORY_WORK))
        descriptions, (low, high), hourly = words.CATEGORY_WORK[category]
        factor = words.PRICE_FACTOR[contact.currency]
        price = money.to_cents(Decimal(rng.randint(low, high)) * factor)
        quantity = Decimal(rng.randint(2, 160)) / 4 if hourly else Decimal(rng.randint(1, 3))
        line = InvoiceLine(
            position=position, category=category, description=rng.choice(descriptions),
            quantity=quantity, unit_price=price, tax_rate=self._tax_rate(contact, category),
        )
        if rng.random() < 0.12:  # an occasional goodwill discount, 5–15 % of the line
            line.discount = money.to_cents(money.line_amount(line) * rng.choice([5, 10, 15]) / 100)
        return line

    def _tax_rate(self, contact: Contact, category: str) -> Decimal:
        roll = self.rng.random()
        if contact.workspace.slug == "default":
            # US sales tax: hosted services taxable, most professional services not.
            taxable = category == "hosting" or roll < 0.15
            return Decimal("8.25") if taxable else Decimal("0.00")
        if contact.currency != "GBP":
            return Decimal("0.00")  # services to overseas customers: zero-rated
        if roll < 0.08:
            return Decimal("5.00")  # reduced rate
        if roll < 0.13:
            return Decimal("0.00")  # zero-rated
        return Decimal("20.00")  # standard VAT

    def _pay(self, doc: Doc, total: Decimal, *, partial: bool) -> None:
        inv, rng = doc.invoice, self.rng
        amounts = [total]
        if partial:
            amounts = [money.to_cents(total * rng.randint(20, 70) / 100)]
        elif rng.random() < 0.2:  # paid in two instalments
            first = money.to_cents(total * rng.randint(30, 70) / 100)
            amounts = [first, total - first]
        day = inv.issue_date
        for amount in amounts:
            day = self.demo.day_between(day, day + timedelta(days=30))
            method = rng.choice(METHODS[inv.currency])
            doc.payments.append(Payment(
                amount=amount, date=day, method=method, source="app",
                reference=f"{'CHK' if method == 'check' else 'TXN'}-{rng.randint(10**5, 10**6)}",
            ))
        if not partial:
            inv.paid_at = self.demo.noon(day)

    def _save(self, docs: list[Doc]) -> None:
        # Numbers follow issue dates, as they would have been handed out.
        docs.sort(key=lambda d: (d.invoice.issue_date, d.invoice.currency))
        for doc in docs:
            doc.invoice.number = self.demo.next_number(
                self.numbers, doc.invoice.workspace.slug, INVOICE_PREFIX
            )
        Invoice.objects.bulk_create([d.invoice for d in docs])
        lines, payments = [], []
        for doc in docs:
            for line in doc.lines:
                line.invoice = doc.invoice
            for payment in doc.payments:
                payment.invoice = doc.invoice
            lines += doc.lines
            payments += doc.payments
        InvoiceLine.objects.bulk_create(lines)
        Payment.objects.bulk_create(payments)

    # Tasks ----------------------------------------------------------------

    def _plan_tasks(self) -> list[dict]:
        n_tasks = max(len(TASK_SHARE), len(self.contacts) // 10)
        budget = self.demo.n_invoices // 5  # at most a fifth of the invoices bill tasks
        plans = []
        for status in self._shuffled(spread(n_tasks, TASK_SHARE)):
            if status in TASK_INVOICE_STATUS and budget == 0:
                status = "in_progress"
            contact = self.rng.choice(self.contacts)
            entries = self._entries(contact, status)
            doc = None
            if status in TASK_INVOICE_STATUS:
                budget -= 1
                doc = self._task_doc(contact, status, entries)
            title = f"{self.rng.choice(words.TASK_TITLES)} for {contact.display_name}"
            plans.append({"task": Task(workspace=contact.workspace, contact=contact,
                                       title=title[:200], status=status),
                          "entries": entries, "doc": doc})
        return plans

    def _entries(self, contact: Contact, status: str) -> list[TimeEntry]:
        rng = self.rng
        count = 0 if status == "backlog" and rng.random() < 0.5 else rng.randint(1, 5)
        entries = []
        for i in range(count):
            category = rng.choice(["design", "development", "consulting", "support"])
            descriptions, (low, high), _ = words.CATEGORY_WORK[category]
            rate = money.to_cents(Decimal(rng.randint(low, high))
                                  * words.PRICE_FACTOR[contact.currency])
            entries.append(TimeEntry(
                description=rng.choice(descriptions), hours=Decimal(rng.randint(2, 32)) / 4,
                rate=rate, category=category, billable=i == 0 or rng.random() < 0.85,
                date=self.today - timedelta(days=rng.randint(0, 30)),
            ))
        return entries

    def _task_doc(self, contact: Contact, status: str, entries: list[TimeEntry]) -> Doc:
        inv_status = TASK_INVOICE_STATUS[status]
        back = {"draft": (0, 0), "sent": (1, 30), "paid": (31, 90)}[inv_status]
        issue = self.today - timedelta(days=self.rng.randint(*back))
        lines = lines_from_time_entries(entries, tax_rate=default_tax_rate_for(contact))
        return self._doc(contact, inv_status, issue, lines)

    def _save_tasks(self, plans: list[dict]) -> None:
        for plan in plans:
            if plan["doc"] is not None:
                invoice = plan["doc"].invoice
                plan["task"].invoice = invoice
                if invoice.status == "paid":
                    plan["task"].note = (f"Invoice {invoice.number} paid on "
                                         f"{invoice.paid_at.date().isoformat()}.")
        tasks = Task.objects.bulk_create([p["task"] for p in plans])
        entries = []
        for task, plan in zip(tasks, plans, strict=True):
            for entry in plan["entries"]:
                entry.task = task
                entries.append(entry)
        TimeEntry.objects.bulk_create(entries)

    def _shuffled(self, items: list[str]) -> list[str]:
        self.rng.shuffle(items)
        return items

    # Credit memos and refunds ---------------------------------------------

    def _credits_and_refunds(self, docs: list[Doc]) -> None:
        issued = [d for d in docs if d.invoice.status in ("sent", "paid")]
        paid = [d for d in docs if d.invoice.status == "paid"]
        n_credits = min(len(issued), max(1, self.demo.n_invoices // 60))
        n_refunds = min(len(paid), max(1, self.demo.n_invoices // 120))
        memos, memo_lines, refunds, refund_lines = [], [], [], []
        for doc in self.rng.sample(issued, n_credits):
            inv, first = doc.invoice, doc.lines[0]
            memos.append(CreditMemo(
                workspace=inv.workspace, contact=inv.contact, invoice=inv,
                number=self.demo.next_number(self.numbers, inv.workspace.slug,
                                             CREDIT_MEMO_PREFIX),
                date=self.demo.day_between(inv.issue_date, inv.issue_date + timedelta(days=20)),
                currency=inv.currency, memo=f"Service credit against {inv.number}.",
            ))
            memo_lines.append(self._credit_line(CreditMemoLine, doc, first, "Service credit"))
        for doc in self.rng.sample(paid, n_refunds):
            inv, first = doc.invoice, doc.lines[0]
            refunds.append(Refund(
                workspace=inv.workspace, contact=inv.contact, invoice=inv,
                number=self.demo.next_number(self.numbers, inv.workspace.slug, REFUND_PREFIX),
                date=self.demo.day_between(inv.paid_at.date(), self.today),
                currency=inv.currency, method=doc.payments[-1].method,
                reference=f"RFND-{self.rng.randint(10**5, 10**6)}",
                memo=f"Partial refund for {inv.number}.",
            ))
            refund_lines.append(self._credit_line(RefundLine, doc, first, "Refund"))
        for memo, line in zip(CreditMemo.objects.bulk_create(memos), memo_lines, strict=True):
            line.credit_memo = memo
        for refund, line in zip(Refund.objects.bulk_create(refunds), refund_lines, strict=True):
            line.refund = refund
        CreditMemoLine.objects.bulk_create(memo_lines)
        RefundLine.objects.bulk_create(refund_lines)

    def _credit_line(self, model, doc: Doc, first: InvoiceLine, label: str):
        share = Decimal(self.rng.choice([5, 10, 20])) / 100
        price = max(Decimal("5.00"), money.to_cents(money.line_net(first) * share))
        return model(position=0, category=first.category, quantity=Decimal("1"),
                     unit_price=price, tax_rate=first.tax_rate,
                     description=f"{label}: {first.description}")

