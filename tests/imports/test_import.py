"""Customer import: QuickBooks' customers become linked or new contacts, ambiguous
ones are listed, sub-customers and inactive ones follow the adapter, a dry run writes
nothing, and a second run creates nothing twice."""

from __future__ import annotations

from example_project.billing.models import Contact
from qbo_sync.imports.match import normalise
from qbo_sync.models import EntityLink, SyncJob

from .conftest import existing, outcomes, run


def _linked(contact) -> str:
    return EntityLink.objects.get(qbo_type="Customer", object_id=str(contact.pk)).qbo_id


def test_normalise_ignores_case_and_spacing():
    assert normalise("  Acme\u00a0 LTD \n") == normalise("acme ltd") == "acme ltd"
    assert normalise("Straße") == normalise("STRASSE")


def test_into_an_empty_app_every_customer_becomes_a_linked_contact(connected, add):
    a = add("Acme Ltd", email="ap@acme.example", CompanyName="Acme Ltd")
    b = add("Blue Sky Cafe", PrimaryPhone={"FreeFormNumber": "+1 512-555-0199"})
    result = run(connected)
    assert result.status == "done", result.error
    assert (result.total, result.created, result.linked, result.ambiguous,
            result.skipped) == (2, 2, 0, 0, 0)
    acme = Contact.objects.get(display_name="Acme Ltd")
    assert (acme.email, acme.company_name) == ("ap@acme.example", "Acme Ltd")
    assert Contact.objects.get(display_name="Blue Sky Cafe").phone == "+1 512-555-0199"
    assert _linked(acme) == a["Id"]
    assert _linked(Contact.objects.get(display_name="Blue Sky Cafe")) == b["Id"]
    # Created contacts are QuickBooks' already: no push was queued for them.
    assert not SyncJob.objects.filter(entity="contact").exists()
    assert result.calls == 1  # one short page


def test_overlapping_contacts_are_linked_created_or_listed(connected, us_workspace, add):
    by_email = existing(us_workspace, display_name="Acme (old name)",
                                      email="AP@Acme.example ")
    by_name = existing(us_workspace, display_name="blue  sky cafe")
    twin1 = existing(us_workspace, display_name="Twin Co",
                                   email="twin@example.com")
    twin2 = existing(us_workspace, display_name="Twin Co")
    acme = add("Acme Ltd", email="ap@acme.example")
    cafe = add("Blue Sky Cafe")
    add("Twin Co")
    add("New Customer Inc")
    before = Contact.objects.count()

    result = run(connected, match="both")
    assert result.status == "done", result.error
    assert outcomes(result) == {"Acme Ltd": "link", "Blue Sky Cafe": "link",
                                "Twin Co": "ambiguous", "New Customer Inc": "create"}
    assert (result.linked, result.created, result.ambiguous) == (2, 1, 1)
    assert _linked(by_email) == acme["Id"] and _linked(by_name) == cafe["Id"]
    assert Contact.objects.count() == before + 1
    ambiguous = next(row for row in result.results if row[2] == "ambiguous")
    assert set(ambiguous[3].split(",")) == {str(twin1.pk), str(twin2.pk)}
    assert not EntityLink.objects.filter(object_id__in=[str(twin1.pk), str(twin2.pk)],
                                         qbo_type="Customer").exclude(qbo_id="").exists()


def test_the_match_rule_is_followed(connected, us_workspace, add):
    existing(us_workspace, display_name="Acme Ltd")
    add("Acme Ltd", email="ap@acme.example")
    dry = run(connected, match="email", dry_run=True)
    assert outcomes(dry) == {"Acme Ltd": "create"}  # the name is not looked at
    dry = run(connected, match="name", dry_run=True)
    assert outcomes(dry) == {"Acme Ltd": "link"}


def test_running_it_again_creates_nothing_twice(connected, us_workspace, add):
    existing(us_workspace, display_name="Acme Ltd")
    add("Acme Ltd")
    add("Other Ltd")
    first = run(connected)
    assert (first.linked, first.created) == (1, 1)
    count, links = Contact.objects.count(), EntityLink.objects.count()
    second = run(connected)
    assert second.status == "done", second.error
    assert (second.linked, second.created, second.skipped) == (0, 0, 2)
    assert {row[4] for row in second.results} == {"already linked"}
    assert (Contact.objects.count(), EntityLink.objects.count()) == (count, links)


def test_sub_customers_are_skipped_by_default_and_imported_when_the_adapter_says(
        connected, add, monkeypatch):
    parent = add("Acme Ltd")
    add("Roof repair", parent_id=parent["Id"])
    result = run(connected)
    assert outcomes(result) == {"Acme Ltd": "create", "Roof repair": "skip"}
    assert "sub-customer" in next(r[4] for r in result.results if r[1] == "Roof repair")
    assert not Contact.objects.filter(display_name="Roof repair").exists()

    from example_project.billing.qbo import ContactAdapter
    monkeypatch.setattr(ContactAdapter, "import_sub_customers", True)
    again = run(connected)
    assert outcomes(again) == {"Acme Ltd": "skip", "Roof repair": "create"}
    assert Contact.objects.filter(display_name="Roof repair").exists()


def test_inactive_customers_are_read_and_skipped_by_default(connected, add, monkeypatch):
    add("Gone Ltd", active=False)
    add("Here Ltd")
    result = run(connected)
    # Read although QBO's default query hides them: the run lists them.
    assert outcomes(result) == {"Gone Ltd": "skip", "Here Ltd": "create"}
    assert "inactive" in next(r[4] for r in result.results if r[1] == "Gone Ltd")

    from example_project.billing.qbo import ContactAdapter
    monkeypatch.setattr(ContactAdapter, "import_inactive", True)
    again = run(connected)
    assert outcomes(again)["Gone Ltd"] == "create"
    assert Contact.objects.get(display_name="Gone Ltd").archived is True


def test_a_dry_run_says_what_would_happen_and_writes_nothing(connected, us_workspace, add):
    existing(us_workspace, display_name="Acme Ltd")
    add("Acme Ltd")
    add("Other Ltd")
    count, links = Contact.objects.count(), EntityLink.objects.count()
    dry = run(connected, dry_run=True)
    assert dry.status == "done", dry.error
    assert outcomes(dry) == {"Acme Ltd": "link", "Other Ltd": "create"}
    assert (dry.linked, dry.created, dry.dry_run) == (1, 1, True)
    assert (Contact.objects.count(), EntityLink.objects.count()) == (count, links)


def test_customers_are_read_in_pages(connected, add, monkeypatch):
    from qbo_sync.imports import run as service
    monkeypatch.setattr(service, "PAGE", 2)
    for n in range(5):
        add(f"Customer {n}")
    result = run(connected)
    assert (result.total, result.created, result.calls) == (5, 5, 3)


def test_an_app_without_create_contact_links_and_skips(connected, us_workspace, add,
                                                       monkeypatch):
    from example_project.billing.qbo import ContactAdapter
    from qbo_sync import adapters
    monkeypatch.setattr(ContactAdapter, "create_contact", adapters.ContactAdapter.create_contact)
    existing(us_workspace, display_name="Acme Ltd")
    add("Acme Ltd")
    add("Other Ltd")
    result = run(connected)
    assert outcomes(result) == {"Acme Ltd": "link", "Other Ltd": "skip"}
