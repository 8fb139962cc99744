"""Request and response shapes of the QuickBooks API. Nothing here ever carries a
token (docs/architecture.md, invariant 5)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from ..conf import minor_version_error
from ..models import Connection, HistoricalRun, SyncAttempt, SyncJob
from ..sync import actors

# Errors ---------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every error: what went wrong, and what to do about it."""

    detail = serializers.CharField()
    fix = serializers.CharField(required=False)
    code = serializers.CharField(required=False)
    errors = serializers.DictField(child=serializers.CharField(), required=False,
                                   help_text="Field → message, for invalid input.")


# Connect ---------------------------------------------------------------------------------


class ConnectSerializer(serializers.Serializer):
    authorize_url = serializers.URLField(help_text="Send the browser here (Intuit consent).")


class CallbackSerializer(serializers.Serializer):
    """The query parameters Intuit sent to the redirect URI, passed through unchanged."""

    code = serializers.CharField(required=False, allow_blank=True)
    state = serializers.CharField()
    realmId = serializers.CharField(required=False, allow_blank=True)  # noqa: N815 - Intuit's
    error = serializers.CharField(required=False, allow_blank=True)
    error_description = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        raw = self.initial_data
        if not attrs.get("error") and not attrs.get("realmId") and "realm_id" in raw:
            raise serializers.ValidationError({"realmId": (
                "Send the company id as 'realmId' (Intuit's parameter name), not "
                "'realm_id'. Pass Intuit's callback query string through unchanged.")})
        if not attrs.get("error") and not attrs.get("code"):
            raise serializers.ValidationError({"code": "Intuit's authorization 'code' is "
                                                       "missing from the callback."})
        return attrs


# Status ----------------------------------------------------------------------------------


class TokenStatusSerializer(serializers.Serializer):
    access_expires_at = serializers.DateTimeField(allow_null=True)
    access_expires_in_seconds = serializers.IntegerField(allow_null=True)
    refresh_expires_at = serializers.DateTimeField(allow_null=True)
    refresh_expires_in_seconds = serializers.IntegerField(allow_null=True)
    hard_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="The refresh-token chain's 5-year cap: reconnect before.")
    hard_expires_in_seconds = serializers.IntegerField(allow_null=True)
    hard_expires_in_days = serializers.IntegerField(allow_null=True)


class JobBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entity = serializers.CharField()
    action = serializers.CharField()
    object_id = serializers.CharField()
    qbo_id = serializers.CharField()
    at = serializers.DateTimeField()
    message = serializers.CharField()


class OverdueAmountSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)


class OverdueSerializer(serializers.Serializer):
    """Overdue invoices (an open balance past the due date, as QuickBooks last said)."""

    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True,
                                      help_text="Their open amount, as an exact decimal "
                                      "string; null when they are in several currencies.")
    by_currency = serializers.DictField(child=OverdueAmountSerializer(),
                                        help_text='By currency code ("" when QuickBooks '
                                        "named none).")


class StatusSerializer(serializers.Serializer):
    workspace = serializers.CharField()
    status = serializers.CharField(help_text="connected | error | disconnected | not_connected")
    status_display = serializers.CharField()
    status_reason = serializers.CharField()
    company = serializers.CharField()
    realm_id = serializers.CharField()
    environment = serializers.CharField()
    connected_at = serializers.DateTimeField(allow_null=True)
    tokens = TokenStatusSerializer(required=False)
    jobs = serializers.DictField(child=serializers.IntegerField(),
                                 help_text="Number of sync jobs by status.")
    last_success = JobBriefSerializer(allow_null=True)
    last_failure = JobBriefSerializer(allow_null=True)
    missing_required = serializers.ListField(child=serializers.CharField())
    overdue = OverdueSerializer()


# Settings ---------------------------------------------------------------------------------


class SettingsSerializer(serializers.ModelSerializer):
    """The workspace admin's choices; ids come from the items / tax-codes / accounts
    lists, names are filled in from them."""

    missing_required = serializers.SerializerMethodField()

    class Meta:
        model = Connection
        fields = [
            "invoice_number_strategy", "tax_authority", "default_item_id", "default_item_name",
            "default_tax_code_id", "default_tax_code_name", "default_deposit_account_id",
            "default_deposit_account_name", "ar_account_id", "ar_account_name",
            "rounding_item_id", "rounding_item_name", "rounding_tolerance",
            "minor_version", "missing_required",
        ]
        read_only_fields = fields

    def get_missing_required(self, obj: Connection) -> list[str]:
        return list(self.context.get("missing_required", []))


class SettingsUpdateSerializer(serializers.Serializer):
    """PATCH body: any subset of the settings. An empty id clears the setting."""

    invoice_number_strategy = serializers.ChoiceField(
        choices=Connection.NumberStrategy.choices, required=False)
    tax_authority = serializers.ChoiceField(
        choices=Connection.TaxAuthority.choices, required=False)
    default_item_id = serializers.CharField(required=False, allow_blank=True)
    default_tax_code_id = serializers.CharField(required=False, allow_blank=True)
    default_deposit_account_id = serializers.CharField(required=False, allow_blank=True)
    ar_account_id = serializers.CharField(required=False, allow_blank=True)
    rounding_item_id = serializers.CharField(required=False, allow_blank=True)
    rounding_tolerance = serializers.DecimalField(max_digits=6, decimal_places=2,
                                                  required=False)
    minor_version = serializers.IntegerField(required=False)

    def validate_minor_version(self, value: int) -> int:
        problem = minor_version_error(value)
        if problem:
            raise serializers.ValidationError(f"Minor version {problem}")
        return value


# Lists -------------------------------------------------------------------------------------


class ItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()


class TaxCodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)


class AccountSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    subtype = serializers.CharField(allow_blank=True)


class ItemListSerializer(serializers.Serializer):
    results = ItemSerializer(many=True)
    fetched_at = serializers.DateTimeField()


class TaxCodeListSerializer(serializers.Serializer):
    results = TaxCodeSerializer(many=True)
    fetched_at = serializers.DateTimeField()


class AccountListSerializer(serializers.Serializer):
    results = AccountSerializer(many=True)
    fetched_at = serializers.DateTimeField()


# Mappings ------------------------------------------------------------------------------------


class MappingsSerializer(serializers.Serializer):
    """``{"mappings": {"design": "21"}}`` for items, ``{"mappings": {"20.00": "3"}}``
    for taxes: the format of ``manage.py qbo_sync_settings --export``."""

    mappings = serializers.DictField(child=serializers.CharField(allow_blank=False))


class MappingsResultSerializer(MappingsSerializer):
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())
    deleted = serializers.ListField(child=serializers.CharField())


# Historical sync --------------------------------------------------------------------------------


class Flag(serializers.BooleanField):
    """A boolean that is never guessed: DRF reads an empty form value as "not sent" (so
    the default), which for ``dry_run`` would start a real run. Here it is an error."""

    default_error_messages = {"invalid": "Must be true or false (got {input!r}): send true "
                                         "for a dry run, false or leave it out for a real one."}

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class StrictSerializer(serializers.Serializer):
    """A request body whose unknown fields are a 400 naming them."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A misspelt flag ("dryrun") must not be ignored: the run would be a real one.
        unknown = sorted(str(k) for k in self.initial_data if k not in self.fields)
        if unknown:
            raise serializers.ValidationError({key: "is not a field of this request: send "
                                               f"{' and/or '.join(self.fields)}."
                                               for key in unknown})
        return attrs


class HistoricalSyncRequestSerializer(StrictSerializer):
    since = serializers.DateField(required=False, allow_null=True,
                                  help_text="Invoices issued on or after this date.")
    dry_run = Flag(required=False, default=False, help_text="Only count what would be queued.")


def status_field(choices: type) -> serializers.CharField:
    # A plain string with the values documented: two enums both named "status" would
    # make the schema generator invent names for them.
    values = " | ".join(c.value for c in choices)
    return serializers.CharField(read_only=True, help_text=values)


class HistoricalRunSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    status = status_field(HistoricalRun.Status)

    class Meta:
        model = HistoricalRun
        fields = ["id", "kind", "since", "dry_run", "status", "total", "done", "queued",
                  "skipped", "percent", "error", "created_at", "finished_at"]
        read_only_fields = fields


# Sync logs --------------------------------------------------------------------------------------


class SyncJobSerializer(serializers.ModelSerializer):
    fix = serializers.SerializerMethodField()
    status = status_field(SyncJob.Status)
    direction = serializers.CharField(read_only=True, help_text="push | pull")
    caused_by = serializers.SerializerMethodField(
        help_text='Who caused the job: a username, or "system", with the trigger.')
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                                allow_null=True)

    class Meta:
        model = SyncJob
        fields = ["id", "entity", "action", "direction", "status", "object_id", "qbo_id",
                  "attempts", "max_attempts", "error_message", "fix", "next_attempt_at",
                  "started_at", "finished_at", "duration_ms", "created_at", "updated_at",
                  "trigger", "requested_by", "caused_by", "correlation_id"]
        read_only_fields = fields

    def get_fix(self, obj: SyncJob) -> str:
        return str((obj.error or {}).get("fix") or "")

    def get_caused_by(self, obj: SyncJob) -> str:
        return actors.actor(obj)


class JobRetrySerializer(serializers.Serializer):
    user = serializers.CharField(help_text='The username, or "system".')
    requested_at = serializers.DateTimeField()
    attempts = serializers.IntegerField(help_text="The job's attempts when it was retried.")
    max_attempts = serializers.IntegerField()
    beyond_cap = serializers.BooleanField(
        help_text="The job had used up its automatic attempts: this was a manual retry.")


class SyncJobPageSerializer(serializers.Serializer):
    """One page of the sync log (``page`` / ``page_size``)."""

    count = serializers.IntegerField(help_text="Jobs matching the filters, on all pages.")
    next = serializers.URLField(allow_null=True, help_text="The next page; null on the last.")
    previous = serializers.URLField(allow_null=True,
                                    help_text="The previous page; null on the first.")
    results = SyncJobSerializer(many=True)


class SyncAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncAttempt
        fields = ["number", "started_at", "finished_at", "ok", "error", "intuit_tid",
                  "duration_ms"]
        read_only_fields = fields


class SyncJobDetailSerializer(SyncJobSerializer):
    attempts_log = SyncAttemptSerializer(source="attempt_log", many=True, read_only=True)
    payload = serializers.SerializerMethodField()
    response = serializers.SerializerMethodField()

    retries = serializers.SerializerMethodField()

    class Meta(SyncJobSerializer.Meta):
        fields = [*SyncJobSerializer.Meta.fields, "error", "payload", "response",
                  "request_id", "attempts_log", "retries"]
        read_only_fields = fields

    @extend_schema_field(JobRetrySerializer(many=True))
    def get_retries(self, obj: SyncJob) -> list[dict]:
        return JobRetrySerializer(actors.retries(obj), many=True).data

    def get_payload(self, obj: SyncJob) -> dict:
        return mask(obj.payload)

    def get_response(self, obj: SyncJob) -> dict:
        return mask(obj.response)


#: Key fragments never shown, even if a stored payload slipped through unmasked.
SECRET_KEYS = ("token", "secret", "authorization", "password")


def mask(value: Any) -> Any:
    """A copy of ``value`` with secret-looking keys replaced by ``"***"``."""
    if isinstance(value, dict):
        return {k: "***" if any(s in str(k).lower() for s in SECRET_KEYS) else mask(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value
