"""The web playground at /: its files, and the page in headless Chromium against real servers.

The browser tests use the page as a person would, by its labels and keys, against the shared
`galen serve` fixtures (the embedded SmolLM2 on llama.cpp; tiny-qwen3.6 on transformers for
images). Screenshots land in tests/artefacts/playground/. Errors: test_serve_playground_errors.py.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
from browser import SLOW, Playground, expect, launched
from media_samples import mp4, png

from galen import RESEARCH_NOTICE
from galen.engine.sampling import PRESETS

QUESTION = "Name one cause of hyperkalaemia."
LONG = "Write a very long essay, with many sections, about every disease of the kidney."
TOOLS = (
    '[{"type": "function", "function": {"name": "lookup_drug", "description": "Look up a drug.",'
    ' "parameters": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}}]'
)


@pytest.fixture(scope="module")
def browser():
    with launched() as browser:
        yield browser


@pytest.fixture
def playground(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Playground(context.new_page(), server.url)
    context.close()


def _active(server) -> int:
    return httpx.get(f"{server.url}/health", timeout=5).json()["active"]


def _completion_tokens(server) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    match = re.search(r"^galen_completion_tokens_total ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


# -- the files ---------------------------------------------------------------------------------


def test_page_and_files_are_served_from_the_package_with_no_outside_url(server):
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    texts = [page.text]
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        asset = httpx.get(f"{server.url}/ui/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        texts.append(asset.text)
    assert not any(re.search(r"https?://", text) for text in texts)  # no CDN, no font, no fetch
    assert " ".join(RESEARCH_NOTICE.split()) in " ".join(re.sub(r"<[^>]+>", "", page.text).split())
    config = httpx.get(f"{server.url}/ui/config.json").json()
    assert config["presets"]["thinking-precise"]["temperature"] == PRESETS["thinking-precise"].temperature
    assert set(config["presets"]) == set(PRESETS)
    missing = httpx.get(f"{server.url}/ui/secrets.txt")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    assert httpx.get(f"{server.url}/ui/..%2Fapp.py").status_code == 404


def test_no_ui_serves_no_page(server_factory):
    server = server_factory("--parallel", "1", "--context-length", "256", "--no-ui")
    assert httpx.get(f"{server.url}/").status_code == 404
    assert httpx.get(f"{server.url}/ui/app.js").status_code == 404
    assert httpx.get(f"{server.base_url}/models").status_code == 200


# -- the page ----------------------------------------------------------------------------------


def test_page_loads_offline_with_the_notice_and_every_control_labelled(playground):
    page = playground.open().page
    notice = page.get_by_role("note")
    expect(notice).to_be_visible()
    assert " ".join(notice.inner_text().split()) == RESEARCH_NOTICE
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
              .filter((c) => !(c.labels?.length || c.getAttribute('aria-label') || c.textContent.trim()))
              .map((c) => c.id)"""
    )
    assert unlabelled == []
    sticking_out = page.evaluate(
        """() => { const panel = document.getElementById('settings').getBoundingClientRect();
              return [...document.querySelectorAll('#settings input, #settings select, #settings textarea')]
                .filter((c) => c.getBoundingClientRect().right > panel.right).map((c) => c.id); }"""
    )
    assert sticking_out == []
    expect(page.get_by_label("Thinking", exact=True)).to_be_checked()  # chatml_think thinks by default
    budget = page.get_by_label("Thinking budget (tokens)", exact=True)
    expect(budget).to_have_attribute("placeholder", "model default: 32")  # the stand-in's default
    expect(page.get_by_text("Attach image or video")).to_be_hidden()  # SmolLM2 takes no media
    assert all(url.startswith(playground.url) for url in playground.urls), playground.urls


def test_a_question_streams_reasoning_and_answer_into_their_places(playground):
    page = playground.open().page
    page.get_by_label("Sampling preset").select_option("thinking-precise")
    expect(page.get_by_label("Temperature")).to_have_value("0.6")
    playground.set("Thinking budget (tokens)", 6)
    playground.set("Max tokens", 40)
    playground.set("Seed", 9)
    playground.ask(QUESTION)
    playground.wait_done()
    answer = playground.answers().last
    thinking = answer.locator("details.thinking")
    expect(thinking).to_be_visible()
    assert thinking.get_attribute("open") is None  # collapsed unless opened
    expect(answer.locator(".thinking-text")).to_be_hidden()
    thinking.locator("summary").click()
    reasoning = answer.locator(".thinking-text").inner_text()
    content = answer.locator(".content").inner_text()
    assert reasoning.strip() and content.strip()
    assert "<think>" not in content and "</think>" not in content
    expect(answer.locator(".meta")).to_contain_text("finished: ")
    expect(page.locator("article.user .content")).to_have_text(QUESTION)
    sent = playground.sent[-1]
    assert sent["preset"] == "thinking-precise" and sent["temperature"] == 0.6 and sent["top_k"] == 20
    assert sent["thinking_budget"] == 6 and sent["max_tokens"] == 40 and sent["seed"] == 9
    assert sent["chat_template_kwargs"] == {"enable_thinking": True} and sent["stream"] is True
    assert sent["messages"] == [{"role": "user", "content": QUESTION}]
    playground.shot("answer")


def test_stop_cancels_the_generation_on_the_server(playground, server):
    page = playground.open().page
    playground.set("Seed", 3)
    # -1: no budget, not even the stand-in's default of 32 tokens, so the reasoning runs on.
    playground.set("Thinking budget (tokens)", -1)
    tokens_before = _completion_tokens(server)
    playground.ask(LONG)
    answer = playground.answers().last
    expect(answer.locator("details.thinking")).to_be_visible(timeout=SLOW)  # reasoning is coming
    expect(answer.locator("summary")).to_have_text("Thinking…")
    answer.locator("summary").click()  # expandable while it streams
    shown = answer.locator(".thinking-text")
    expect(shown).to_be_visible()
    grows = "n => [...document.querySelectorAll('.thinking-text')].pop().textContent.length > n"
    page.wait_for_function(grows, arg=len(shown.inner_text()), timeout=SLOW)
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_enabled()
    stop.click()
    expect(answer.locator(".note")).to_have_text("Stopped.")
    expect(stop).to_be_disabled()
    deadline = time.monotonic() + 10
    while _active(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _active(server) == 0  # the server saw the disconnect and freed the slot
    assert _completion_tokens(server) == tokens_before  # and the stream never ran to its end
    assert answer.locator(".thinking-text").inner_text().strip()  # what came is kept


def test_thinking_off_sends_enable_thinking_false(playground):
    page = playground.open().page
    thinking = page.get_by_label("Thinking", exact=True)
    thinking.focus()
    page.keyboard.press("Space")
    expect(thinking).not_to_be_checked()
    playground.set("Thinking budget (tokens)", 6)  # ignored with thinking off
    playground.set("Max tokens", 16)
    playground.set("Seed", 1)
    playground.ask(QUESTION)
    playground.wait_done()
    sent = playground.sent[-1]
    assert sent["chat_template_kwargs"] == {"enable_thinking": False} and "thinking_budget" not in sent
    answer = playground.answers().last
    expect(answer.locator("details.thinking")).to_be_hidden()
    assert answer.locator(".content").inner_text().strip()


def test_tool_calls_are_shown_as_tool_calls(playground):
    page = playground.open().page
    page.get_by_label("Thinking", exact=True).uncheck()
    page.get_by_label("Tools (JSON list, optional)").fill(TOOLS)
    page.get_by_label("Tool choice").select_option("required")
    playground.set("Max tokens", 60)
    playground.set("Seed", 2)
    playground.ask("Look up amoxicillin.")
    playground.wait_done()
    call = playground.answers().last.get_by_role("group", name="Tool call: lookup_drug")
    expect(call).to_be_visible()
    expect(call.locator(".tool-args")).to_contain_text('"name"')
    expect(playground.answers().last.locator(".meta")).to_contain_text("finished: tool_calls")
    assert playground.sent[-1]["tool_choice"] == "required"
    assert playground.sent[-1]["tools"][0]["function"]["name"] == "lookup_drug"
    page.get_by_label("Tools (JSON list, optional)").fill("[not json")
    playground.ask("Again.")
    expect(page.locator("#status")).to_contain_text("Tools are not valid JSON")
    assert len(playground.sent) == 1


def test_history_is_kept_in_this_browser_only(playground, browser, server):
    page = playground.open().page
    page.get_by_label("Thinking", exact=True).uncheck()
    playground.set("Max tokens", 8)
    playground.set("Seed", 1)
    playground.ask(QUESTION)
    playground.wait_done()
    page.reload()
    expect(page.locator("article.user .content")).to_have_text(QUESTION)
    assert QUESTION in page.evaluate("localStorage.getItem('galen.playground.history')")
    playground.set("Max tokens", 8)
    page.get_by_label("Thinking", exact=True).uncheck()
    playground.ask("And another?")
    playground.wait_done()
    history = playground.sent[-1]["messages"]  # the earlier turn went back to the model
    assert [m["role"] for m in history] == ["user", "assistant", "user"] and history[0]["content"] == QUESTION
    other = browser.new_context()  # another browser profile sees nothing of it
    fresh = Playground(other.new_page(), server.url).open().page
    expect(fresh.locator("article")).to_have_count(0)
    other.close()
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("article")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('galen.playground.history')") == "[]"


def test_phone_width_reads_without_sideways_scrolling(browser, server):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    playground = Playground(context.new_page(), server.url)
    page = playground.open().page
    expect(page.get_by_role("note")).to_be_in_viewport()
    expect(page.get_by_label("Message", exact=True)).to_be_visible()
    assert page.locator("#settings-panel").get_attribute("open") is None  # settings folded away
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    playground.shot("phone")
    page.locator("#settings-panel summary").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    playground.shot("phone-settings")
    context.close()


def test_an_image_and_a_video_attach_on_a_vision_model(browser, qwen_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    playground = Playground(context.new_page(), qwen_server.url)
    page = playground.open().page
    expect(page.get_by_text("Attach image or video")).to_be_visible()
    picker = page.get_by_label("Attach image or video")
    assert picker.get_attribute("accept") == "image/*,video/*"
    picker.set_input_files(
        [
            {"name": "lesion.png", "mimeType": "image/png", "buffer": png()},
            {"name": "bar.mp4", "mimeType": "video/mp4", "buffer": mp4(frames=8)},
        ]
    )
    expect(page.get_by_role("button", name="Remove lesion.png")).to_be_visible()
    expect(page.get_by_role("button", name="Remove bar.mp4")).to_be_visible()
    page.get_by_label("Thinking", exact=True).uncheck()
    playground.set("Max tokens", 6)
    playground.ask("What is in this image and this video?")
    playground.wait_done()
    expect(page.locator("article.user img[alt='lesion.png']")).to_be_visible()
    expect(page.locator("article.user video[aria-label='bar.mp4']")).to_be_attached()
    expect(page.locator("#status")).to_be_empty()
    expect(playground.answers().last.locator(".meta")).to_contain_text("finished: ")
    image, video, text = playground.sent[-1]["messages"][0]["content"]
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith("data:image/png;base64,")
    assert video["type"] == "video_url" and video["video_url"]["url"].startswith("data:video/mp4;base64,")
    assert text == {"type": "text", "text": "What is in this image and this video?"}
    expect(page.get_by_role("button", name="Remove lesion.png")).to_have_count(0)  # sent, not pending
    playground.shot("vision")
    context.close()
