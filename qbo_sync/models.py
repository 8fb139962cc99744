"""qbo_sync's own tables. Host rows are referenced by content type + id, never by FK,
so these migrations never depend on the host's apps (docs/architecture.md, "Coupling
to the host")."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from encrypted_model_fields.fields import EncryptedCharField, EncryptedTextField

#: Plaintext stored encrypted on every connection. Reading it back proves the
#: configured FIELD_ENCRYPTION_KEY can decrypt the tokens: with a wrong key the field
#: library silently returns ciphertext instead of failing (checks.E003).
KEY_CANARY = "qbo_sync:key-canary:v1"


class Connection(models.Model):
    """One workspace ↔ one QBO company (realm), its tokens and its sync settings."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        ERROR = "error", "Needs reconnect"
        DISCONNECTED = "disconnected", "Disconnected"

    class NumberStrategy(models.TextChoices):
        APP = "app", "Use our invoice numbers"
        QBO = "qbo", "Let QuickBooks number invoices"

    class TaxAuthority(models.TextChoices):
        # docs/qbo-rules.md §5.2 "Tax: US vs non-US": who decides a document's tax.
        APP = "app", "The app: QuickBooks stores the app's tax"
        QUICKBOOKS = "quickbooks", "QuickBooks: it computes the tax, differences are reported"

    workspace = models.CharField(max_length=100, unique=True)
    realm_id = models.CharField(max_length=32, blank=True)
    company_name = models.CharField(max_length=1024, blank=True)
    environment = models.CharField(max_length=20, default="simulator")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DISCONNECTED)
    status_reason = models.TextField(blank=True)

    # Tokens are opaque strings of 1 KB or more (docs/qbo-rules.md §1.4): TEXT, encrypted.
    access_token = EncryptedTextField(blank=True, default="")
    refresh_token = EncryptedTextField(blank=True, default="")
    key_canary = EncryptedCharField(max_length=64, blank=True, default="")
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    # The refresh-token chain's 5-year cap (docs/qbo-rules.md §1.5).
    refresh_token_hard_expires_at = models.DateTimeField(null=True, blank=True)
    # When the chain began: the authorization-code exchange; refreshes keep it. The
    # 5-year cap counts from here when Intuit sends no hard expiry (docs/qbo-rules.md §1.5).
    refresh_chain_started_at = models.DateTimeField(null=True, blank=True)
    token_refreshed_at = models.DateTimeField(null=True, blank=True)
    # Until when one worker may refresh the tokens (single-flight without holding a
    # transaction across the HTTP call; qbo_sync.connection.oauth.refresh_tokens).
    refresh_lease_until = models.DateTimeField(null=True, blank=True)

    connected_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    disconnected_at = models.DateTimeField(null=True, blank=True)

    # What CompanyInfo and Preferences say (country, multicurrency, tax setup, …).
    capabilities = models.JSONField(default=dict, blank=True)
    capabilities_fetched_at = models.DateTimeField(null=True, blank=True)

    # Settings chosen by the workspace admin from lists loaded from QBO.
    invoice_number_strategy = models.CharField(
        max_length=10, choices=NumberStrategy.choices, default=NumberStrategy.APP
    )
    tax_authority = models.CharField(
        max_length=12, choices=TaxAuthority.choices, default=TaxAuthority.APP
    )
    # A difference up to the tolerance is posted as a line on this item (0.00: off).
    rounding_tolerance = models.DecimalField(max_digits=6, decimal_places=2,
                                             default=Decimal("0.00"))
    rounding_item_id = models.CharField(max_length=32, blank=True)
    rounding_item_name = models.CharField(max_length=255, blank=True)
    default_item_id = models.CharField(max_length=32, blank=True)
    default_item_name = models.CharField(max_length=255, blank=True)
    default_tax_code_id = models.CharField(max_length=32, blank=True)
    default_tax_code_name = models.CharField(max_length=255, blank=True)
    default_deposit_account_id = models.CharField(max_length=32, blank=True)
    default_deposit_account_name = models.CharField(max_length=255, blank=True)
    ar_account_id = models.CharField(max_length=32, blank=True)
    ar_account_name = models.CharField(max_length=255, blank=True)
    minor_version = models.PositiveIntegerField(default=75)

    # Change Data Capture cursor for the pull catch-up (docs/qbo-rules.md §6).
    cdc_cursor = models.DateTimeField(null=True, blank=True)
    # When the running pull started (None: none running). One pull per realm at a time.
    pull_started_at = models.DateTimeField(null=True, blank=True)
    # When a webhook-triggered pull was queued and no worker has started it yet (None:
    # none waiting). Deliveries that find it set queue nothing: the waiting task reads
    # them too, so a burst for one company costs one pull (qbo_sync.pull.webhooks).
    webhook_pull_queued_at = models.DateTimeField(null=True, blank=True)
    # Items, tax codes and accounts loaded from QBO for the settings screens.
    lists_cache = models.JSONField(default=dict, blank=True)
    lists_fetched_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace"]
        constraints = [
            # One workspace ↔ one QBO company (docs/architecture.md, invariant 8): a
            # company is held by at most one workspace per environment while connected
            # or waiting for a reconnect. Disconnected rows keep their realm for the
            # history and hold nothing.
            models.UniqueConstraint(
                fields=["realm_id", "environment"],
                condition=~models.Q(realm_id="") & ~models.Q(status="disconnected"),
                name="qbo_one_workspace_per_company",
            ),
        ]

    def __str__(self) -> str:
        company = self.company_name or self.realm_id or "no company"
        return f"{self.workspace} ↔ {company} ({self.get_status_display()})"

    def __repr__(self) -> str:
        # Never include tokens (docs/architecture.md, invariant 5).
        return f"<Connection {self.workspace!r} realm={self.realm_id!r} status={self.status}>"

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED

    def access_token_valid_for(self, margin: int = 0) -> bool:
        """Whether the access token is still good ``margin`` seconds from now."""
        if not self.access_token or not self.access_token_expires_at:
            return False
        return self.access_token_expires_at > timezone.now() + timedelta(seconds=margin)


class OAuthState(models.Model):
    """A single-use, expiring ``state`` bound to the user and workspace that started
    the connect flow (CSRF protection for the OAuth callback)."""

    state = models.CharField(max_length=64, unique=True)
    workspace = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    redirect_uri = models.URLField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"OAuth state for {self.workspace}"


class ItemMapping(models.Model):
    """Host line category → QBO item."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="item_mappings"
    )
    category = models.CharField(max_length=100)
    item_id = models.CharField(max_length=32)
    item_name = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "category"], name="qbo_item_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category} → {self.item_name or self.item_id}"


class TaxMapping(models.Model):
    """Host tax rate (its key, e.g. ``"20.00"`` or a name) → QBO tax code."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="tax_mappings"
    )
    tax_rate = models.CharField(max_length=100)
    tax_code_id = models.CharField(max_length=32)
    tax_code_name = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "tax_rate"], name="qbo_tax_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tax_rate} → {self.tax_code_name or self.tax_code_id}"


class LinkStatus(models.TextChoices):
    """What the QBO record behind a link is, as far as qbo_sync knows."""

    NEW = "", "Not in QuickBooks yet"
    ACTIVE = "active", "Active"
    #: A create whose outcome is unknown: look in QBO before creating again.
    CREATING = "creating", "Being created"
    VOID = "void", "Void in QuickBooks"
    DELETED = "deleted", "Deleted in QuickBooks"
    PAID = "paid", "Paid in QuickBooks"


class JobAction(models.TextChoices):
    """What a job does. A push job is queued as an intent (sync, sync_payment,
    credit_memo, refund, void) and records what it did when it runs (create, update,
    void); a pull job is one action on one host invoice."""

    SYNC = "sync", "Sync"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    VOID = "void", "Void"
    DELETE = "delete", "Delete"
    DEACTIVATE = "deactivate", "Make inactive"
    SYNC_PAYMENT = "sync_payment", "Sync payment"
    SETTLE = "settle", "Record the payment of an invoice paid in the app"
    CREDIT_MEMO = "credit_memo", "Sync credit memo"
    REFUND = "refund", "Sync refund"
    PULL_PAYMENT = "pull_payment", "Record a QuickBooks payment"
    PULL_INVOICE_PAID = "pull_invoice_paid", "Invoice paid in QuickBooks"
    PULL_INVOICE_VOID = "pull_invoice_void", "Invoice voided in QuickBooks"
    PULL_INVOICE_DELETED = "pull_invoice_deleted", "Invoice deleted in QuickBooks"
    PULL_ACCEPT = "pull_accept", "Take QuickBooks' version of an invoice"
    PULL_CONTACT = "pull_contact", "Customer changed in QuickBooks"
    PULL_INVOICE_OVERDUE = "pull_invoice_overdue", "Invoice overdue (or no longer) in QuickBooks"


class JobTrigger(models.TextChoices):
    """What caused a job when no person asked for it ("system", with this trigger)."""

    UNKNOWN = "", "Not recorded"
    SAVE = "save", "A save in the app"
    DELETE = "delete", "A deletion in the app"
    HISTORY = "history", "A manual / historical sync"
    SCHEDULE = "schedule", "The scheduled pull"
    WEBHOOK = "webhook", "A QuickBooks webhook"
    PULL = "pull", "The pull command"
    REPAIR = "repair", "A reconciliation repair"
    DEPENDENCY = "dependency", "Needed by another job"


class EntityLink(models.Model):
    """A host object ↔ the QBO record it is synced to."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="links")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.CharField(max_length=64)
    # A contact billed in two currencies needs two QBO customers (docs/qbo-rules.md §5.9).
    variant = models.CharField(max_length=16, blank=True, default="")
    qbo_type = models.CharField(max_length=32)
    qbo_id = models.CharField(max_length=32, blank=True)
    sync_token = models.CharField(max_length=32, blank=True)
    doc_number = models.CharField(max_length=32, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    # What we last wrote, to tell an accountant's edit from ours on 5010 (docs/qbo-rules.md §5).
    last_payload = models.JSONField(default=dict, blank=True)
    qbo_status = models.CharField(max_length=20, blank=True, choices=LinkStatus.choices,
                                  default=LinkStatus.ACTIVE)
    exchange_rate = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    exchange_rate_source = models.CharField(max_length=50, blank=True)
    exchange_rate_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    #: How many times the record was created again after QuickBooks lost it (a
    #: reconciliation repair); part of the create's requestid from 1 on.
    generation = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "content_type", "object_id", "variant"],
                name="qbo_entity_link_unique",
            )
        ]
        indexes = [models.Index(fields=["connection", "qbo_type", "qbo_id"])]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.object_id} → {self.qbo_type} {self.qbo_id or '?'}"


class SyncJob(models.Model):
    """One sync intent: the outbox row written in the host's transaction, and the
    record Sync Health shows.

    The fields a new job leaves empty have a database default too (``db_default``): the
    outbox's INSERT leaves them out (``sync/insert.py``)."""

    class Direction(models.TextChoices):
        PUSH = "push", "Push to QuickBooks"
        PULL = "pull", "Pull from QuickBooks"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        # Written, but QuickBooks' total, tax or balance is not the app's (``totals``).
        DIFFERS = "differs", "Succeeded, totals differ"
        FAILED = "failed", "Failed"
        PARKED = "parked", "Waiting for reconnect"
        SKIPPED = "skipped", "Skipped"

    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    # Indexed by the (workspace, created_at) index of Meta, and content type by the
    # outbox's (content type, object id, status): every index is one more write on each
    # save's INSERT (docs/architecture.md, invariant 4).
    workspace = models.CharField(max_length=100)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        db_index=False,
    )
    object_id = models.CharField(max_length=64, blank=True)
    entity = models.CharField(max_length=32)  # contact, invoice, payment, credit_memo, refund
    action = models.CharField(max_length=32, choices=JobAction.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.PUSH,
                                 db_default=Direction.PUSH)
    # Status and next_attempt_at: indexed together by Meta's (status, next_attempt_at),
    # which every claim and sweep uses.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    max_attempts = models.PositiveIntegerField(default=5)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=100, blank=True, default="", db_default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(max_length=50, blank=True, default="", db_default="")
    error = models.JSONField(default=dict, blank=True, db_default={})
    error_message = models.TextField(blank=True, default="", db_default="")
    payload = models.JSONField(default=dict, blank=True, db_default={})  # masked
    response = models.JSONField(default=dict, blank=True, db_default={})  # masked
    #: For "differs": the app's and QuickBooks' figures, the difference, cause and fix.
    totals = models.JSONField(default=dict, blank=True, db_default={})
    qbo_id = models.CharField(max_length=32, blank=True, default="", db_default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    #: When the job was last handed to the broker: the sweeper skips jobs already queued.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    #: The job this one waits for (a dependency on its way); woken when it finishes.
    waiting_for = models.ForeignKey("self", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="waiters")
    #: Who asked for it by hand (a retry or a reconciliation repair); None: the app.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    #: What caused the job (``requested_by`` says who, when a person did).
    trigger = models.CharField(max_length=16, choices=JobTrigger.choices, blank=True,
                               default=JobTrigger.UNKNOWN)
    #: Set at creation; logged with QuickBooks' intuit_tid on every call the job makes.
    correlation_id = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            # Sync Health, the API's job list and the metrics: one workspace's jobs by age.
            models.Index(fields=["workspace", "created_at"], name="qbo_sync_job_workspace"),
            # The outbox's "is a job for this object still waiting?" lookup.
            models.Index(fields=["content_type", "object_id", "status"],
                         name="qbo_sync_job_object_status"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.entity} {self.action} #{self.pk} ({self.status})"


#: The job states that mean "written": Sync Health shows "differs" amber, not red.
SUCCESS_STATUSES = (SyncJob.Status.SUCCEEDED, SyncJob.Status.DIFFERS)


class SyncAttempt(models.Model):
    """One try at a job, append-only."""

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    # Indexed for the retention prune (RETENTION_DAYS["attempts"]).
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    error = models.JSONField(default=dict, blank=True)
    intuit_tid = models.CharField(max_length=100, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["job", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of job {self.job_id}"


class WebhookEvent(models.Model):
    """A signed webhook delivery, stored raw once its signature checked out. Unsigned
    and wrongly signed ones are only counted (:class:`WebhookRejection`)."""

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField()
    verified = models.BooleanField(default=False)
    envelope = models.CharField(max_length=20, blank=True)  # legacy | cloudevents
    realm_ids = models.JSONField(default=list, blank=True)
    processed = models.BooleanField(default=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    #: Failed processing attempts; the sweeper retries with backoff until processed.
    attempts = models.PositiveIntegerField(default=0)
    #: When a failed or postponed delivery is due again (None: as soon as stored).
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["processed", "next_attempt_at"],
                                name="qbo_sync_webhook_due")]

    def __str__(self) -> str:
        return f"webhook {self.pk} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class WebhookRejection(models.Model):
    """Deliveries refused before anything was stored (bad signature, too large),
    counted per day and reason. Small by design: a count, when the first and last
    came, and the first bytes of the first one (at most :data:`SAMPLE_BYTES`)."""

    SAMPLE_BYTES = 512

    class Reason(models.TextChoices):
        UNSIGNED = "unsigned", "No intuit-signature header"
        BAD_SIGNATURE = "bad_signature", "Wrong intuit-signature"
        NO_VERIFIER = "no_verifier", "No verifier token set to check the signature"
        TOO_LARGE = "too_large", "Larger than WEBHOOK_MAX_BYTES"

    day = models.DateField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    count = models.PositiveIntegerField(default=0)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    sample = models.CharField(max_length=SAMPLE_BYTES, blank=True)

    class Meta:
        ordering = ["-day", "reason"]
        constraints = [
            models.UniqueConstraint(fields=["day", "reason"], name="qbo_webhook_rejection_day")
        ]

    def __str__(self) -> str:
        return f"{self.count} × {self.get_reason_display()} on {self.day:%Y-%m-%d}"


class SettingsChange(models.Model):
    """Who changed a connection's settings or mappings, and when."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="changes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    field = models.CharField(max_length=120)  # e.g. "default_item_id", "item_mapping:design"
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value!r} → {self.new_value!r}"


class SeenEvent(models.Model):
    """Deduplication keys of webhook events already accepted (docs/qbo-rules.md §7.5)."""

    key = models.CharField(max_length=255, unique=True)
    realm_id = models.CharField(max_length=32, blank=True)
    webhook = models.ForeignKey(
        WebhookEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Indexed for the retention prune (RETENTION_DAYS["seen_events"]).
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.key


class HistoricalRun(models.Model):
    """A manual / historical sync of existing contacts or invoices, with progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=20)  # contact | invoice
    since = models.DateField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)  # jobs written
    skipped = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "sync run"
        verbose_name_plural = "sync runs (manual and historical)"

    def __str__(self) -> str:
        return f"{self.kind} sync since {self.since or 'the beginning'} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)


class ReconciliationRun(models.Model):
    """One comparison of a connection's linked invoices with QuickBooks
    (``qbo_sync.reconcile``): what it read, what it cost and what it found."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE,
                                   related_name="reconciliations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=20, default="admin")  # schedule|admin|api|command
    since = models.DateField(null=True, blank=True)
    fix = models.CharField(max_length=10, blank=True)  # "safe": repair the safe ones
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    #: Objects left out because a sync of theirs was still on its way.
    in_flight = models.PositiveIntegerField(default=0)
    #: QuickBooks calls the run made (reads only).
    calls = models.PositiveIntegerField(default=0)
    #: Differences found, by kind (ignored ones not counted).
    counts = models.JSONField(default=dict, blank=True)
    ignored = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"reconciliation {self.pk} of {self.connection.workspace} ({self.status})"

    @property
    def found(self) -> int:
        return sum(int(n) for n in (self.counts or {}).values())

    @property
    def calls_per_thousand(self) -> Decimal | None:
        """QuickBooks calls per 1,000 records compared (None before any)."""
        if not self.total:
            return None
        return (Decimal(self.calls) * 1000 / self.total).quantize(Decimal("0.1"))

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)


class DifferenceKind(models.TextChoices):
    """What a reconciliation can find (docs/reconciliation.md)."""

    MISSING = "missing", "Deleted in QuickBooks"
    VOIDED = "voided", "Voided in QuickBooks, not in the app"
    TOTALS = "totals", "Total, tax or balance differs"
    CUSTOMER = "customer", "Customer differs"
    EDITED = "edited", "Edited in QuickBooks"
    OPEN_IN_QBO = "open_in_qbo", "Void or deleted in the app, open in QuickBooks"
    PAID_IN_APP = "paid_in_app", "Paid in the app, open in QuickBooks"
    PAID_IN_QBO = "paid_in_qbo", "Paid in QuickBooks, open in the app"
    PAYMENT_NOT_IN_APP = "payment_not_in_app", "Payment in QuickBooks the app lacks"
    PAYMENT_NOT_IN_QBO = "payment_not_in_qbo", "Payment in the app QuickBooks lacks"
    UNLINKED = "unlinked", "Same number in QuickBooks, not linked"
    INACTIVE = "inactive", "Customer made inactive in QuickBooks"


class Difference(models.Model):
    """One difference a run found, both sides' values, and what was done about it."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        REPAIRING = "repairing", "Repair queued"
        IGNORED = "ignored", "Ignored"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE,
                            related_name="differences")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=DifferenceKind.choices, db_index=True)
    entity = models.CharField(max_length=32)  # invoice | payment
    content_type = models.ForeignKey(ContentType, null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="+")
    object_id = models.CharField(max_length=64, blank=True)
    label = models.CharField(max_length=255, blank=True)  # "invoice INV-0042"
    qbo_id = models.CharField(max_length=32, blank=True)
    explanation = models.TextField()
    #: Masked values of both sides, as shown side by side.
    app_value = models.JSONField(default=dict, blank=True)
    qbo_value = models.JSONField(default=dict, blank=True)
    #: The repair actions that fit, best first; ``safe`` ones may run unattended.
    repairs = models.JSONField(default=list, blank=True)
    safe_repair = models.CharField(max_length=20, blank=True)
    #: Same object, kind and values → same fingerprint: what an ignore remembers.
    fingerprint = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    resolution = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    jobs = models.ManyToManyField(SyncJob, blank=True, related_name="+")

    class Meta:
        ordering = ["run", "kind", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.label}"


class IgnoredDifference(models.Model):
    """A difference a person chose to ignore, with why: not reported again while the
    object, kind and values stay the same (the fingerprint)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)
    kind = models.CharField(max_length=24, choices=DifferenceKind.choices)
    label = models.CharField(max_length=255, blank=True)
    reason = models.TextField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["connection", "fingerprint"],
                                               name="qbo_ignored_difference_unique")]

    def __str__(self) -> str:
        return f"ignored {self.kind}: {self.label}"


class ApiCallCount(models.Model):
    """QuickBooks API calls sent for a connection, counted per minute, kind and source:
    one row per (connection, minute, kind, source), bumped by one UPDATE per call
    (``qbo_sync.connection.usage``). The metrics read it for calls per minute against
    QuickBooks' per-realm limit and for the metered reads of the month."""

    class Kind(models.TextChoices):
        READ = "read", "Read by id"
        QUERY = "query", "Query"
        CDC = "cdc", "Change data capture"
        WRITE = "write", "Write"
        BATCH = "batch", "Batch"

    class Source(models.TextChoices):
        JOB = "job", "Sync job"
        PULL = "pull", "Pull (CDC catch-up)"
        RECONCILE = "reconcile", "Reconciliation"
        LISTS = "lists", "Settings lists"
        OTHER = "other", "Other"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.OTHER)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-minute"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "minute", "kind", "source"],
                                    name="qbo_api_call_count_unique"),
        ]
        # The metrics' range scans (all of a connection's minutes in a window) and the
        # retention prune (old minutes of every connection).
        indexes = [models.Index(fields=["minute"], name="qbo_api_call_minute")]

    def __str__(self) -> str:
        return f"{self.count} × {self.kind} at {self.minute:%Y-%m-%d %H:%M}"


class AlertState(models.Model):
    """One alert condition of a workspace (a rule and what it is about), so it is sent
    once, repeated at most every ``REPEAT_HOURS`` while it lasts, and resolved once
    (``qbo_sync.alerts.service``)."""

    workspace = models.CharField(max_length=100)
    rule = models.CharField(max_length=40)
    #: What in the workspace the alert is about ("" for the workspace as a whole).
    subject = models.CharField(max_length=255, blank=True, default="")
    active = models.BooleanField(default=True)
    title = models.CharField(max_length=255)
    detail = models.TextField(blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    #: When the condition was first found clear in the current episode (None: not clear).
    clear_since = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    notified_count = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["workspace", "rule", "subject"]
        constraints = [models.UniqueConstraint(fields=["workspace", "rule", "subject"],
                                               name="qbo_alert_state_unique")]

    def __str__(self) -> str:
        return f"{self.workspace}: {self.title} ({'active' if self.active else 'resolved'})"


class WorkerMapping(models.Model):
    """Who did the work, for time pushed as TimeActivity: a host worker key (what the
    time entry adapter gives as ``worker_key``; empty: the workspace's default worker) →
    the QuickBooks Employee or Vendor that QBO requires on every TimeActivity."""

    class NameOf(models.TextChoices):
        EMPLOYEE = "Employee", "Employee"
        VENDOR = "Vendor", "Vendor"

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="worker_mappings"
    )
    worker_key = models.CharField(max_length=100, blank=True,
                                  help_text="Empty: the default for every other worker.")
    name_of = models.CharField(max_length=8, choices=NameOf.choices, default=NameOf.EMPLOYEE)
    qbo_id = models.CharField("QuickBooks id", max_length=32)
    qbo_name = models.CharField("QuickBooks name", max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "worker_key"], name="qbo_worker_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker_key or '(default)'} → {self.name_of} {self.qbo_name or self.qbo_id}"
class JobRetry(models.Model):
    """A retry asked for by hand (Sync Health, the API), append-only: who, when, and
    whether the job had used up its automatic attempts (a retry beyond the cap)."""

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="retries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(default=timezone.now)
    #: The job's attempts and cap when the retry was asked for.
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["job", "requested_at", "pk"]

    def __str__(self) -> str:
        return f"retry of job {self.job_id} by {self.user or 'system'}"

    @property
    def beyond_cap(self) -> bool:
        return self.attempts >= self.max_attempts


class MappingVersion(models.Model):
    """One numbered version of a connection's whole settings-and-mappings set (the
    export document, ``snapshot``), written by every change; append-only."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE,
                                   related_name="mapping_versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField(default=dict)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(blank=True)
    #: The version this one restored (a rollback), if any.
    restored_from = models.ForeignKey("self", null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["connection", "-number"]
        constraints = [models.UniqueConstraint(fields=["connection", "number"],
                                               name="qbo_mapping_version_unique")]

    def __str__(self) -> str:
        return f"{self.connection.workspace} version {self.number}"


class ImportRun(models.Model):
    """One import of a connection's QuickBooks customers into the app
    (``qbo_sync.imports``): each customer linked to a matching contact, created as a new
    one, listed as ambiguous, or skipped; a dry run records only what it would do."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Match(models.TextChoices):
        EMAIL = "email", "By email"
        NAME = "name", "By display name"
        BOTH = "both", "By email, then display name"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="imports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=20, default="admin")  # admin|api|command|demo
    dry_run = models.BooleanField(default=False)
    match = models.CharField(max_length=10, choices=Match.choices, default=Match.BOTH)
    #: Customers read from QuickBooks so far (``total`` once the last page is read).
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    linked = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    ambiguous = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    #: QuickBooks calls the run made (reads only).
    calls = models.PositiveIntegerField(default=0)
    #: One row per customer: [QuickBooks Id, DisplayName, outcome, contact key(s), note].
    results = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "customer import"

    def __str__(self) -> str:
        what = "dry run" if self.dry_run else "import"
        return f"customer {what} {self.pk} of {self.connection.workspace} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return 0 if not self.total else int(100 * self.done / self.total)


class InvoiceStanding(models.Model):
    """What QuickBooks last said about a linked invoice's open balance and due date,
    and whether it is overdue (``qbo_sync.pull.overdue``); ``reported`` is what the
    host's ``mark_overdue`` was last told (None: never)."""

    link = models.OneToOneField(EntityLink, on_delete=models.CASCADE, related_name="standing")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    balance = models.DecimalField(max_digits=17, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, blank=True)
    due_date = models.DateField(null=True, blank=True)
    overdue = models.BooleanField(default=False)
    reported = models.BooleanField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["connection", "overdue"])]

    def __str__(self) -> str:
        state = "overdue" if self.overdue else "not overdue"
        return f"invoice link {self.link_id}: {state}, balance {self.balance}"

    @property
    def needs_report(self) -> bool:
        """Whether the host must be told: overdue and not told so, or told so and no
        longer overdue (a host never told is taken to show "not overdue")."""
        return self.overdue is not bool(self.reported)


# The shared call budget on the embedded default (sync/budget.py) ----------------------


class BudgetKey(models.Model):
    """One key of the call budget (a realm's minute window, its in-flight slots, its
    429 counter). A process changing the key's budget locks this row first, so the
    processes sharing the database take turns; ``count`` and ``expires_at`` serve the
    ``limits`` counters (the 429 count)."""

    key = models.CharField(max_length=255, unique=True)
    count = models.BigIntegerField(default=0)
    expires_at = models.FloatField(default=0)  # epoch seconds

    def __str__(self) -> str:
        return self.key


class BudgetHit(models.Model):
    """One call in a key's sliding window (epoch seconds); pruned once a window old."""

    key = models.CharField(max_length=255)
    at = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["key", "at"], name="qbo_budget_hit_key_at")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.at}"


class BudgetLease(models.Model):
    """One call in flight to a realm. It ends when the call does, or by itself at
    ``expires_at`` when its worker died, so a killed worker never keeps a slot."""

    key = models.CharField(max_length=255)
    expires_at = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["key", "expires_at"], name="qbo_budget_lease_key")]

    def __str__(self) -> str:
        return f"{self.key} until {self.expires_at}"
