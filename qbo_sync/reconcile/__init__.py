"""Reconciliation: every linked invoice compared with QuickBooks, each difference
explained, and the repairs a person can pick (docs/reconciliation.md).

``run`` walks and records, ``compare`` says what differs (pure), ``repair`` turns a
person's choice into sync jobs."""
