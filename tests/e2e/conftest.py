"""End-to-end harness: headless Chromium (the Debian package, driven by Playwright) against a live
server of the project, and screenshots saved as test artifacts under ``test-artifacts/screenshots``.

Chromium is never downloaded: the tests skip, naming the missing part, where ``/usr/bin/chromium`` or
the ``playwright`` package is absent (``.ci/run`` installs the Debian ``chromium`` package).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test's thread; the test's own ORM calls are still
# plain synchronous code, so Django's async-safety guard must not refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("VAULTSTUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - requirements-dev.txt pins it
    sync_playwright = None


def pytest_collection_modifyitems(items: list[Any]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if sync_playwright is None:
        pytest.skip("needs the playwright package (requirements-dev.txt)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def studio_url(live_server: Any, settings: Any) -> str:
    """The live server's base URL as http://localhost:PORT (WebAuthn needs localhost or https), with
    the settings that name this server's origin pointed at it."""
    base = live_server.url.replace("127.0.0.1", "localhost")
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    settings.VAULTSTUDIO_BASE_URL = base
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [base]
    return base


@pytest.fixture
def context(browser: Any, studio_url: str) -> Iterator[Any]:
    """A fresh browser context (its own cookies) with downloads accepted."""
    ctx = browser.new_context(base_url=studio_url, accept_downloads=True, viewport={"width": 1360, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture
def screenshot() -> Any:
    """``screenshot(page, "name")`` saves a full-page PNG to test-artifacts/screenshots/name.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def console_errors(page: Any) -> list[str]:
    """Console errors and CSP violations the page reports (a test can assert there are none)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors
