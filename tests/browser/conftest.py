"""Browser fixtures: Debian's chromium driven by Playwright's sync API, headless.

Skipped (with the reason) when ``/usr/bin/chromium`` or the ``playwright`` package is
missing; browsers are never downloaded (no ``playwright install``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to var/screenshots; QBO_SCREENSHOTS_DIR=docs/screenshots refreshes the
# ones the docs show.
SCREENSHOTS = ROOT / os.environ.get("QBO_SCREENSHOTS_DIR", "var/screenshots")


@pytest.fixture
def chromium_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh page (1360×900) in a headless chromium."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is missing: pip install playwright")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the test
    # makes between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     headless=True)
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        # The admin's navigation sidebar starts closed, leaving room for the screens.
        context.add_init_script(
            "try { localStorage.setItem('django.admin.navSidebarIsOpen', 'false') } "
            "catch (e) {}")
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def shoot(chromium_page: Any) -> Any:
    """``shoot("name")`` saves the page as ``docs/screenshots/name.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        chromium_page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


