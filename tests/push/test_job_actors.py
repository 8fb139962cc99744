"""Push jobs say what caused them (a save, a deletion, another job needing the record)
and what they did: a contact's job says create or update, like an invoice's."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from example_project.billing.models import Contact
from qbo_sync.models import JobTrigger, SyncJob
from qbo_sync.receivers import muted
from qbo_sync.sync import actors

from .conftest import make_invoice


def _job_of(obj: Any) -> SyncJob:
    """The latest job of a host object."""
    ct = ContentType.objects.get_for_model(type(obj))
    return SyncJob.objects.filter(content_type=ct, object_id=str(obj.pk)).latest("pk")


def test_a_save_and_a_delete_in_the_app_are_the_system(qbo_simulator, connected, contact):
    job = _job_of(contact)  # the fixture's save
    assert (job.trigger, job.requested_by) == (JobTrigger.SAVE, None)
    assert actors.actor(job) == "system (A save in the app)"
    with transaction.atomic():
        invoice = make_invoice(contact)
    invoice.send()
    pushed = _job_of(invoice)
    assert pushed.trigger == JobTrigger.SAVE and pushed.status == "succeeded"
    invoice.delete()
    gone = SyncJob.objects.filter(entity="invoice", action="void").latest("pk")
    assert gone.trigger == JobTrigger.DELETE
    assert actors.actor(gone) == "system (A deletion in the app)"


def test_a_dependency_is_needed_by_another_job(qbo_simulator, connected, us_workspace):
    with muted():  # the contact is pushed only as the invoice's dependency
        person = Contact.objects.create(workspace=us_workspace, display_name="Globex",
                                        email="ap@globex.example")
    with transaction.atomic():
        invoice = make_invoice(person)
    invoice.send()
    assert _job_of(invoice).status == "succeeded"
    dependency = _job_of(person)
    assert (dependency.trigger, dependency.action) == (JobTrigger.DEPENDENCY, "create")
    assert actors.actor(dependency) == "system (Needed by another job)"


def test_a_contact_job_says_create_then_update(qbo_simulator, connected, us_workspace):
    person = Contact.objects.create(workspace=us_workspace, display_name="Initech",
                                    email="ap@initech.example")
    first = _job_of(person)
    assert (first.status, first.action) == ("succeeded", "create")
    person.city = "Austin"
    person.save()
    second = _job_of(person)
    assert second.pk != first.pk
    assert (second.status, second.action) == ("succeeded", "update")
