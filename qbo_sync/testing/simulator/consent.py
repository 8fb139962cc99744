"""HTML for the simulator's authorization page (the stand-in for Intuit's
``appcenter.intuit.com/connect/oauth2`` company picker, docs/qbo-rules.md §1.3).

Plain HTML with no scripts, so a person, the Django test client or a headless
browser can click through it the same way.
"""

from __future__ import annotations

from html import escape

#: The fields the authorize request carries and the form posts back unchanged.
AUTHORIZE_FIELDS = ("client_id", "response_type", "scope", "redirect_uri", "state")

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;color:#222}"
    "h1{font-size:1.4rem}fieldset{border:1px solid #ccc;padding:1rem}"
    "label{display:block;margin:.4rem 0}.error{color:#b00020}"
    "button{margin-right:.5rem;padding:.4rem 1rem}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )


def render_consent(
    params: dict[str, str], realms: list[dict], *, app_name: str, error: str = ""
) -> str:
    """The consent form: one radio button per company, Connect and Cancel."""
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params.get(name, ""))}">'
        for name in AUTHORIZE_FIELDS
    )
    if realms:
        choices = "".join(
            f'<label><input type="radio" name="realmId" value="{escape(r["realm_id"])}"'
            f'{" checked" if i == 0 else ""}> {escape(r["name"])} '
            f'<small>({escape(r.get("country", ""))}, realm {escape(r["realm_id"])})</small>'
            "</label>"
            for i, r in enumerate(realms)
        )
        connect = '<button type="submit" name="action" value="connect">Connect</button>'
    else:
        choices = "<p>This simulator has no companies.</p>"
        connect = ""
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"<p><strong>{escape(app_name)}</strong> wants to connect to your QuickBooks "
        "company. Choose the company to connect.</p>"
        f"{problem}"
        '<form method="post" action="/connect/oauth2">'
        f"{hidden}<fieldset><legend>Company</legend>{choices}</fieldset><p>"
        f"{connect}"
        '<button type="submit" name="action" value="cancel">Cancel</button>'
        "</p></form>"
    )
    return _page("Connect to QuickBooks (simulator)", body)


def render_error(title: str, message: str) -> str:
    """An error page for requests that cannot be sent back to the app (unknown
    client or missing redirect URI: redirecting there would be unsafe)."""
    return _page(title, f'<p class="error" role="alert">{escape(message)}</p>')
