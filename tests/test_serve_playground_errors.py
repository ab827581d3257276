"""The playground when things go wrong, in headless Chromium against real `galen serve` processes:
a key the server wants (401), a busy server (429), an error in the middle of a stream (a shutdown
past its timeout) and a server that is gone. Each shows a readable message and leaves the
conversation as it was: earlier turns stay, and an unsent message goes back into the box.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from browser import SLOW, Playground, expect, launched

from galen.testing.server import start_server, stop_server

KEY = "sekret"
QUESTION = "Name one cause of hyperkalaemia."
LONG = "Write a very long essay, with many sections, about every disease of the kidney."


@pytest.fixture(scope="module")
def browser():
    with launched() as browser:
        yield browser


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory):
    """One slot, no queue, an API key: a second request at once is a 429."""
    log = tmp_path_factory.mktemp("keyed") / "server.log"
    server = start_server(
        ["--api-key", KEY, "--parallel", "1", "--max-queue", "0", "--context-length", "1024"], log
    )
    yield server
    stop_server(server)


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def _with_key(context, server) -> Playground:
    """The page with the key already given in this tab's session, and one short exchange."""
    playground = Playground(context.new_page(), server.url)
    playground.page.add_init_script(f"sessionStorage.setItem('galen.playground.key', '{KEY}')")
    page = playground.open().page
    page.get_by_label("Thinking", exact=True).uncheck()
    playground.set("Max tokens", 8)
    playground.set("Seed", 1)
    playground.ask(QUESTION)
    playground.wait_done()
    return playground


def _wait_idle(server) -> None:
    deadline = time.monotonic() + 10
    while httpx.get(f"{server.url}/health").json()["active"] and time.monotonic() < deadline:
        time.sleep(0.1)


def _intact(playground: Playground, unsent: str) -> None:
    """The first exchange is still there, and the message that failed is back in the box."""
    page = playground.page
    expect(page.locator("article.user .content").first).to_have_text(QUESTION)
    expect(page.get_by_label("Message", exact=True)).to_have_value(unsent)
    stored = json.loads(page.evaluate("localStorage.getItem('galen.playground.history')"))
    assert stored[0]["content"] == QUESTION and unsent not in [t["content"] for t in stored]


def test_the_page_needs_no_key_but_the_api_does(keyed):
    assert httpx.get(f"{keyed.url}/").status_code == 200
    assert httpx.get(f"{keyed.url}/ui/app.js").status_code == 200
    assert httpx.get(f"{keyed.base_url}/models").status_code == 401


def test_401_asks_for_the_key_and_keeps_it_for_the_session(context, keyed):
    playground = Playground(context.new_page(), keyed.url)
    page = playground.open(ready=False).page
    expect(page.get_by_text("This server needs an API key.")).to_be_visible()
    key = page.get_by_label("API key", exact=True)
    expect(key).to_be_focused()
    key.fill("wrong")
    key.press("Enter")
    expect(page.get_by_text("The server did not accept that API key. Enter it again.")).to_be_visible()
    key.fill(KEY)
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("#key-form")).to_be_hidden()
    expect(page.get_by_label("Model")).to_have_value("smollm2")
    assert page.evaluate("sessionStorage.getItem('galen.playground.key')") == KEY
    page.get_by_label("Thinking", exact=True).uncheck()
    playground.set("Max tokens", 8)
    playground.set("Seed", 1)
    playground.ask(QUESTION)
    playground.wait_done()
    assert playground.answers().last.locator(".content").inner_text().strip()
    assert KEY not in page.evaluate("JSON.stringify(localStorage)")  # never kept past the session
    # The key stops working (say the server restarted with another): the message comes back.
    page.evaluate("sessionStorage.setItem('galen.playground.key', 'revoked')")
    playground.ask("Another one?")
    expect(page.locator("#status")).to_have_text("The server did not accept the API key.")
    expect(page.get_by_text("Enter it and send again.")).to_be_visible()
    _intact(playground, "Another one?")
    playground.shot("error-401")


def test_429_says_the_server_is_busy(context, keyed):
    playground = _with_key(context, keyed)
    page = playground.page
    # Seed 3 with no thinking budget (-1: not even the stand-in's default) runs this to max_tokens
    # (900 tokens: a minute here), so the one slot stays taken.
    body = {"messages": [{"role": "user", "content": LONG}], "max_tokens": 900, "seed": 3, "stream": True,
            "thinking_budget": -1}  # fmt: skip
    headers = {"Authorization": f"Bearer {KEY}"}
    url = f"{keyed.base_url}/chat/completions"
    _wait_idle(keyed)  # the page's first answer has let go of the slot
    with httpx.stream("POST", url, json=body, headers=headers, timeout=60) as held:
        assert held.status_code == 200
        lines = held.iter_lines()  # kept: a dropped iterator closes the connection when collected
        next(lines)
        playground.ask("Another one?")
        expect(page.locator("#status")).to_contain_text("The server is busy", timeout=SLOW)
        expect(page.locator("#status")).to_contain_text("Try again in 1 s. (server busy: ")
        _intact(playground, "Another one?")
        playground.shot("error-429")
    _wait_idle(keyed)
    page.get_by_role("button", name="Send").click()  # the same message, once the slot is free
    playground.wait_done()
    expect(page.locator("#status")).to_be_empty()
    expect(page.locator("article.user .content")).to_have_text([QUESTION, "Another one?"])


@pytest.fixture
def doomed(tmp_path: Path):
    """A server this test stops. --shutdown-timeout 0: on SIGTERM a running stream is stopped at
    once, with an error event in the stream."""
    args = ["--parallel", "1", "--context-length", "1024", "--shutdown-timeout", "0"]
    server = start_server(args, tmp_path / "server.log")
    yield server
    stop_server(server)


def test_an_error_mid_stream_then_a_server_gone(context, doomed):
    playground = Playground(context.new_page(), doomed.url)
    page = playground.open().page
    page.get_by_label("Thinking", exact=True).uncheck()
    playground.set("Max tokens", 8)
    playground.set("Seed", 1)
    playground.ask(QUESTION)
    playground.wait_done()
    page.get_by_label("Thinking", exact=True).check()
    playground.set("Max tokens", "")
    playground.set("Seed", 3)
    playground.set("Thinking budget (tokens)", -1)  # no budget: the reasoning runs on
    playground.ask(LONG)
    answer = playground.answers().last
    expect(answer.locator("details.thinking")).to_be_visible(timeout=SLOW)  # reasoning is coming
    doomed.process.terminate()
    note = answer.locator(".note")
    expect(note).to_contain_text("Interrupted: The server stopped the answer:", timeout=SLOW)
    expect(note).to_contain_text("shutting down")
    expect(page.locator("#status")).to_contain_text("shutting down")
    assert answer.locator(".thinking-text").text_content().strip()  # the partial answer stays
    doomed.process.wait(timeout=30)
    playground.shot("error-mid-stream")
    playground.ask("Are you there?")
    expect(page.locator("#status")).to_have_text("Cannot reach the server. Is galen serve still running?")
    expect(page.locator("article.user .content")).to_have_text([QUESTION, LONG])
    _intact(playground, "Are you there?")
    playground.shot("error-server-down")
