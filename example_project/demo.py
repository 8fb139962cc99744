"""The main job on the embedded default, end to end, with no account anywhere.

1. migrate the SQLite database and seed the example invoicing product;
2. start the QBO simulator and the example site as real HTTP servers on localhost;
3. log in as the workspace admin and connect the ``default`` workspace to the
   simulator's US company through the real OAuth redirect flow (connect → consent
   page → callback), exactly as a browser would;
4. print what happened.

Run it with ``bin/demo`` (which prepares the virtualenv first).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from html import unescape
from pathlib import Path
from socketserver import ThreadingMixIn
from urllib.parse import urljoin
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def start_simulator(port: int, state_file: Path):
    from qbo_sync.testing.simulator import Simulator
    from qbo_sync.testing.simulator.server import serve_in_thread

    sim = Simulator(state_file=str(state_file))
    server, base_url = serve_in_thread(sim, port=port)
    return sim, server, base_url


def start_site(port: int):
    from django.core.wsgi import get_wsgi_application

    httpd = make_server(
        "127.0.0.1", port, get_wsgi_application(),
        server_class=_ThreadingWSGIServer, handler_class=_QuietHandler,
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_port}"


def _form(html: str) -> tuple[str, dict[str, str]]:
    """The first form's action and its input values (radio: the checked or first one)."""
    form = re.search(r"<form[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", html, re.S | re.I)
    if not form:
        raise RuntimeError("no form on the page")
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form.group(2), re.I):
        name = re.search(r"name=\"([^\"]*)\"", tag)
        value = re.search(r"value=\"([^\"]*)\"", tag)
        kind = re.search(r"type=\"([^\"]*)\"", tag)
        if not name:
            continue
        key, val = name.group(1), unescape(value.group(1)) if value else ""
        if kind and kind.group(1).lower() == "radio":
            if key in fields and "checked" not in tag:
                continue
        if kind and kind.group(1).lower() == "submit":
            continue
        fields[key] = val
    return unescape(form.group(1)), fields


def connect_through_oauth(site: str, username: str, password: str, workspace: str) -> str:
    """Log in and click through connect → consent → callback like a browser."""
    import requests

    browser = requests.Session()
    login_url = f"{site}/admin/login/"
    page = browser.get(login_url, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    resp = browser.post(
        login_url,
        data={"username": username, "password": password, "csrfmiddlewaretoken": token,
              "next": "/admin/"},
        headers={"Referer": login_url}, timeout=10,
    )
    if "/admin/login/" in resp.url:
        raise RuntimeError("could not log in to the example site")
    consent = browser.get(f"{site}/qbo/connect/?workspace={workspace}", timeout=10)
    consent.raise_for_status()
    print(f"    consent page: {consent.url.split('?')[0]}")
    action, fields = _form(consent.text)
    done = browser.post(urljoin(consent.url, action), data=fields, timeout=30)
    done.raise_for_status()
    return done.url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim-port", type=int, default=8765)
    parser.add_argument("--site-port", type=int, default=8000)
    parser.add_argument("--keep-running", action="store_true",
                        help="leave both servers running until Ctrl-C")
    args = parser.parse_args(argv)

    import django

    started = time.monotonic()
    var = Path(os.environ.get("QBO_VAR_DIR", "var/demo"))
    var.mkdir(parents=True, exist_ok=True)
    sim_state = var / "simulator.json"
    if sim_state.exists():
        sim_state.unlink()
    os.environ["QBO_SIMULATOR_URL"] = f"http://127.0.0.1:{args.sim_port}"
    os.environ["QBO_REDIRECT_URI"] = f"http://127.0.0.1:{args.site_port}/qbo/callback/"
    django.setup()

    from django.core.management import call_command

    step("migrate")
    call_command("migrate", verbosity=0)
    step("seed the example invoicing product")
    call_command("seed_demo", reset=True)

    step("start the QBO simulator and the example site")
    sim, sim_server, sim_url = start_simulator(args.sim_port, sim_state)
    site_server, site_url = start_site(args.site_port)
    print(f"    simulator: {sim_url}   site: {site_url}")

    step("connect workspace 'default' to QuickBooks through the OAuth redirect flow")
    final_url = connect_through_oauth(site_url, "admin", "admin", "default")
    print(f"    landed on: {final_url}")

    from qbo_sync.models import Connection

    conn = Connection.objects.get(workspace="default")
    print(f"    status: {conn.get_status_display()}  company: {conn.company_name!r}  "
          f"realm: {conn.realm_id}")
    print(f"    access token expires: {conn.access_token_expires_at:%Y-%m-%d %H:%M:%S} UTC")
    if not conn.is_connected:
        print(f"    reason: {conn.status_reason}", file=sys.stderr)
        return 1
    print(f"done in {time.monotonic() - started:.1f}s")
    if args.keep_running:
        print("servers are running; Ctrl-C to stop")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    site_server.shutdown()
    sim_server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
