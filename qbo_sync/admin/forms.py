"""Forms of the connection screens. Choices come from the lists loaded live from QBO
(``qbo_sync.lists``); the forms only validate input, the saving goes through
``qbo_sync.configure`` so every change is checked and audited once."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.html import format_html

from ..conf import MAX_MINOR_VERSION, MIN_MINOR_VERSION, minor_version_error
from ..connection.documents import is_document
from ..connection.lists import item_choices, tax_code_choices
from ..connection.settings import ID_FIELDS
from ..models import Connection, ItemMapping, TaxMapping

Choices = list[tuple[str, str]]

#: Settings chosen from a QBO list: field → (label, choices, stored name field); the
#: settings service's table, so the form and the service cannot disagree.
LIST_SETTINGS = ID_FIELDS
LABEL_TO_FIELD = {label: field for field, (label, _, _) in LIST_SETTINGS.items()}
HELP = {
    "default_item_id": "The QuickBooks item invoice lines use when their category has no "
                       "item mapping.",
    "default_tax_code_id": "The tax code lines use when their tax rate has no mapping "
                           "(outside the US every line needs one).",
    "default_deposit_account_id": "Where payments recorded here are deposited in QuickBooks.",
    "ar_account_id": "The Accounts Receivable account payments clear (sent as the payment's "
                     "ARAccountRef); empty uses QuickBooks' default. Invoices always post "
                     "to QuickBooks' A/R account: its Invoice API has no A/R field.",
    "tax_authority": "Who decides each document's tax. The app: QuickBooks stores the app's "
                     "tax, so totals agree to the cent. QuickBooks: it computes the tax "
                     "(US: from the customer's address) and any difference is reported.",
    "rounding_item_id": "The item a rounding difference is posted to (see Rounding "
                        "tolerance).",
    "rounding_tolerance": "A difference between QuickBooks' total and the app's up to this "
                          "amount is posted as a line on the Rounding item and noted on "
                          "the document; 0.00 turns rounding off (at most 1.00).",
    "minor_version": f"QuickBooks API minor version ({MIN_MINOR_VERSION} to "
                     f"{MAX_MINOR_VERSION}).",
}


def with_current(choices: Choices, value: str, name: str) -> Choices:
    """``choices`` with an empty choice first, keeping a saved value that the loaded
    list lacks (so opening the form never silently changes a setting)."""
    result = [("", "— not set —"), *choices]
    if value and value not in {key for key, _ in choices}:
        result.append((value, f"{name or value} (not in the loaded list)"))
    return result


def required_label(label: str) -> str:
    return format_html('{} <span class="qbo-required" style="color:#b3261e;font-weight:600">'
                       'required</span>', label)


class SettingsForm(forms.ModelForm):
    """The connection's sync settings. ``lists`` (the QBO lists, or ``None`` when they
    could not be loaded) and ``missing`` (labels of unset required settings) are set on
    the class by the admin for each request."""

    lists: dict | None = None
    missing: tuple[str, ...] = ()
    version_note = forms.CharField(
        required=False, max_length=2000, label="Note for this change",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Optional: why you change the settings or mappings; kept with the new "
                  "version (Versions: compare, roll back).")

    class Meta:
        model = Connection
        fields = ["invoice_number_strategy", "tax_authority", *LIST_SETTINGS,
                  "rounding_tolerance", "minor_version"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        conn = self.instance
        for field, (label, choices_of, name_field) in LIST_SETTINGS.items():
            if field not in self.fields:
                continue
            loaded = choices_of(self.lists) if self.lists else []
            choices = with_current(loaded, getattr(conn, field), getattr(conn, name_field))
            shown = required_label(label) if label in self.missing else label
            self.fields[field] = forms.ChoiceField(
                label=shown, choices=choices, required=False, help_text=HELP.get(field, ""))
        for name in ("tax_authority", "rounding_tolerance", "minor_version"):
            if name in self.fields:
                self.fields[name].help_text = HELP[name]

    def clean_minor_version(self) -> int:
        value = self.cleaned_data["minor_version"]
        problem = minor_version_error(value) if value is not None else ""
        if problem:
            raise forms.ValidationError(f"Minor version {problem}")
        return value


class _MappingForm(forms.ModelForm):
    """One mapping row; the QBO side is a choice from the loaded list."""

    lists: dict | None = None
    id_field = ""
    name_field = ""
    label = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        loaded = self.choices(self.lists) if self.lists else []
        value = getattr(self.instance, self.id_field, "") or ""
        name = getattr(self.instance, self.name_field, "") or ""
        self.fields[self.id_field] = forms.ChoiceField(
            label=self.label, choices=with_current(loaded, value, name))

    @staticmethod
    def choices(lists: dict) -> Choices:
        raise NotImplementedError


class ItemMappingForm(_MappingForm):
    id_field, name_field, label = "item_id", "item_name", "QuickBooks item"

    class Meta:
        model = ItemMapping
        fields = ["category", "item_id"]

    @staticmethod
    def choices(lists: dict) -> Choices:
        return item_choices(lists)


class TaxMappingForm(_MappingForm):
    id_field, name_field, label = "tax_code_id", "tax_code_name", "QuickBooks tax code"

    class Meta:
        model = TaxMapping
        fields = ["tax_rate", "tax_code_id"]

    @staticmethod
    def choices(lists: dict) -> Choices:
        return tax_code_choices(lists)


class ImportMappingsForm(forms.Form):
    """JSON in the export format: ``{"design": "21"}`` for one kind, or the whole
    export ``{"items": {...}, "taxes": {...}}``."""

    KINDS = [("auto", "Detect from the file"), ("items", "Item mappings (category → item id)"),
             ("taxes", "Tax mappings (tax rate → tax code id)")]

    kind = forms.ChoiceField(choices=KINDS, initial="auto")
    file = forms.FileField(required=False, label="JSON file")
    text = forms.CharField(required=False, label="…or paste JSON",
                           widget=forms.Textarea(attrs={"rows": 8, "cols": 60}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("file")
        try:
            raw = upload.read().decode("utf-8-sig") if upload else (data.get("text") or "")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                "The file is not UTF-8 text. Save it as UTF-8 (the export is) and upload it "
                "again.") from None
        if not raw.strip():
            raise forms.ValidationError("Choose a JSON file or paste the JSON.")
        try:
            parsed = json.loads(raw)
        except RecursionError:
            raise forms.ValidationError(
                "The JSON is nested too deeply to read. Mappings are one level deep: use "
                'the export format, e.g. {"design": "21", "development": "34"}.') from None
        except ValueError as exc:
            raise forms.ValidationError(
                f"That is not valid JSON ({exc}). Use the export format, e.g. "
                '{"design": "21", "development": "34"}.') from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError('The JSON must be an object, e.g. {"design": "21"}.')
        if is_document(parsed):
            # A whole export (settings too): imported by the documents service, which
            # migrates an older schema_version or refuses an unknown one.
            data["document"], data["batches"] = parsed, []
            return data
        data["document"] = None
        data["batches"] = self._batches(data.get("kind") or "auto", parsed)
        return data

    @staticmethod
    def _batches(kind: str, parsed: dict) -> list[tuple[str, dict]]:
        whole = set(parsed) <= {"items", "taxes"} and all(
            isinstance(v, dict) for v in parsed.values())
        if kind == "auto":
            if whole and parsed:
                return [(k, parsed[k]) for k in ("items", "taxes") if k in parsed]
            raise forms.ValidationError(
                'Choose whether the file holds item or tax mappings, or import the whole '
                'export ({"items": {...}, "taxes": {...}}).')
        if whole and kind in parsed:
            return [(kind, parsed[kind])]
        return [(kind, parsed)]


class ManualSyncForm(forms.Form):
    """Start a manual / historical sync of existing contacts or invoices."""

    kind = forms.ChoiceField(choices=[("contact", "Contacts"), ("invoice", "Invoices")],
                             widget=forms.RadioSelect)
    since = forms.DateField(
        required=False, label="Start date",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Only records from this date on (empty: all of them).")
    dry_run = forms.BooleanField(
        required=False, label="Dry run", help_text="Count what would be pushed; push nothing.")
