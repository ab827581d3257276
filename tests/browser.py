"""Headless Chromium for the playground's tests: Debian's `chromium`, driven by Playwright's API.

Playwright cannot download a browser of its own here (no network but the package registries), so
it drives the system one (`make browser` installs it). A missing browser or Playwright fails the
test with the command that installs it: it never skips. Screenshots go to tests/artefacts/
(ignored by git).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # each test that needs it fails with the command (never a silent skip)

    def expect(*_: Any, **__: Any) -> Any:
        pytest.fail("Playwright is not installed: run `make install` (it is a dev dependency)", pytrace=False)


ARTEFACTS = Path(__file__).resolve().parent / "artefacts" / "playground"
INSTALL = "make browser  (as root: apt-get install -y chromium)"
# As the machine's notes advise: no background networking (the network is closed), a fresh profile.
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip
SLOW = 90_000  # ms: a generation on two loaded cores


def chromium_path() -> str:
    path = os.environ.get("GALEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail(f"headless Chromium not found: install it with `{INSTALL}`", pytrace=False)
    return path


@contextmanager
def launched() -> Iterator[Any]:
    """One headless Chromium, for a test module."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: run `make install` (it is a dev dependency)", pytrace=False)
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Playground:
    """The page as a person uses it: by the labels on its controls. It also records the chat
    requests the page sends, to check what reached the server."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.url = url
        self.sent: list[dict[str, Any]] = []
        self.urls: list[str] = []
        page.on("request", self._record)

    def _record(self, request: Any) -> None:
        self.urls.append(request.url)
        if request.method == "POST" and request.url.endswith("/v1/chat/completions"):
            self.sent.append(json.loads(request.post_data or "{}"))

    def open(self, ready: bool = True) -> Playground:
        self.page.goto(f"{self.url}/")
        if ready:  # the model list has loaded
            expect(self.page.locator("#model option").first).to_be_attached()
        return self

    def set(self, label: str, value: object) -> None:
        self.page.get_by_label(label, exact=True).fill(str(value))

    def ask(self, text: str) -> None:
        box = self.page.get_by_label("Message", exact=True)
        box.fill(text)
        box.press("Enter")

    def wait_done(self) -> None:
        expect(self.page.get_by_role("button", name="Send")).to_be_enabled(timeout=SLOW)

    def answers(self) -> Any:
        return self.page.locator("article.assistant")

    def turns(self) -> list[str]:
        """Each turn's text, as shown: who, then content."""
        return self.page.locator("article .content").all_inner_texts()

    def status(self) -> str:
        return self.page.locator("#status").inner_text()

    def shot(self, name: str) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
