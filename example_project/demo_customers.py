"""The demo's customer import: the QuickBooks company already has customers when the
product connects (some are people the product bills too, under another name), and
``qbo_sync.imports`` brings them in before the first push, so nothing is created twice.
"""

from __future__ import annotations

from typing import Any

#: New customers only QuickBooks knows (name, email).
ONLY_IN_QUICKBOOKS = (
    ("Harbor Freight Collective", "ap@harborfreight.example"),
    ("Juniper & Sage Florists", "hello@junipersage.example"),
    ("Quarry Lane Bakery", ""),
)
MATCHING = 3  # existing contacts that QuickBooks has too, under another display name


def seed_quickbooks_customers(sim: Any, realm: str, workspace: str) -> None:
    """Customers the accountant entered over the years: some of the app's contacts
    (same email, a different display name), some only QuickBooks knows, a job under one
    of them and an inactive one."""
    from example_project.billing.models import Contact

    accountant = sim.accountant
    known = Contact.objects.filter(workspace__slug=workspace).exclude(email="") \
        .order_by("pk")[:MATCHING]
    for contact in known:
        accountant.add_customer(realm, f"{contact.display_name} (QuickBooks)",
                                email=contact.email.upper())
    parent = None
    for name, email in ONLY_IN_QUICKBOOKS:
        made = accountant.add_customer(realm, name, email=email)
        parent = parent or made
    accountant.add_customer(realm, "Harbor Freight Collective - warehouse fit-out",
                            parent_id=parent["Id"])
    accountant.add_customer(realm, "Closed Account Ltd", active=False)


def import_customers(conn: Any) -> None:
    """A dry run first (what would happen, per customer), then the import."""
    from qbo_sync.imports.run import run_import, start_import

    dry = run_import(start_import(conn, trigger="demo", dry_run=True, queue=False))
    print(f"    dry run: {dry.total} QuickBooks customers; {dry.linked} would be linked, "
          f"{dry.created} created, {dry.ambiguous} ambiguous, {dry.skipped} skipped")
    for qbo_id, name, outcome, keys, note in dry.results:
        print(f"      {qbo_id:>4} {name}: {outcome}" + (f" contact {keys}" if keys else "")
              + (f" ({note})" if note else ""))
    run = run_import(start_import(conn, trigger="demo", queue=False))
    print(f"    import: {run.linked} linked, {run.created} created, {run.ambiguous} "
          f"ambiguous, {run.skipped} skipped, in {run.calls} QuickBooks call(s)")
