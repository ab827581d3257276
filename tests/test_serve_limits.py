"""Concurrency limits, cancellation on disconnect, API keys, logging and metrics."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

LONG = {
    "messages": [{"role": "user", "content": "Write a long essay about the kidney."}],
    "max_tokens": 200,
    "seed": 1,
    "chat_template_kwargs": {"enable_thinking": False},
}


@pytest.fixture(scope="module")
def tight_server(server_factory):
    """One slot, no queue: the second concurrent request must be turned away."""
    return server_factory("--parallel", "1", "--max-queue", "0", "--api-key", "sekret")


def _auth(key: str = "sekret") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_api_key_required_everywhere_but_health(tight_server):
    url = tight_server.base_url
    assert httpx.get(f"{tight_server.url}/health").status_code == 200
    assert httpx.get(f"{url}/models").status_code == 401
    wrong = httpx.get(f"{url}/models", headers=_auth("nope"))
    assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "authentication_error"
    assert httpx.get(f"{url}/models", headers=_auth()).status_code == 200
    assert httpx.get(f"{tight_server.url}/metrics").status_code == 401


def test_api_key_from_environment(server_factory):
    server = server_factory("--parallel", "1", env={"GALEN_API_KEY": "from-env"})
    assert httpx.get(f"{server.base_url}/models").status_code == 401
    assert httpx.get(f"{server.base_url}/models", headers=_auth("from-env")).status_code == 200


def test_past_the_limit_is_429_with_retry_after(tight_server):
    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120, headers=_auth()) as http:
            first = asyncio.create_task(http.post(f"{tight_server.base_url}/chat/completions", json=LONG))
            await asyncio.sleep(0.5)
            second = await http.post(f"{tight_server.base_url}/chat/completions", json=LONG)
            return [await first, second]

    first, second = asyncio.run(fire())
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.headers["retry-after"] == "1"
    assert second.json()["error"]["type"] == "rate_limit_error"


def _active(server) -> int:
    return httpx.get(f"{server.url}/health", timeout=5).json()["active"]


def test_client_disconnect_cancels_generation(server):
    body = {**LONG, "max_tokens": 900, "stream": True, "model": "smollm2"}
    with httpx.stream("POST", f"{server.base_url}/chat/completions", json=body, timeout=60) as response:
        for i, _line in enumerate(response.iter_lines()):
            if i > 4:
                break
    deadline = time.monotonic() + 10
    while _active(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _active(server) == 0
    # Non-streaming too: a client that times out frees its slot.
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.base_url}/chat/completions", json={**LONG, "max_tokens": 900}, timeout=1.0)
    deadline = time.monotonic() + 10
    while _active(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _active(server) == 0


def test_metrics_count_requests_tokens_and_latency(server, client):
    client.chat.completions.create(model="smollm2", messages=LONG["messages"], max_tokens=3)
    text = httpx.get(f"{server.url}/metrics").text
    assert 'galen_requests_total{endpoint="/v1/chat/completions",status="200"}' in text
    assert "galen_completion_tokens_total" in text
    assert "galen_request_seconds_bucket" in text
    assert "galen_time_to_first_token_seconds" in text
    assert "galen_queue_depth" in text


def test_logs_hold_no_prompt_text_unless_asked(server, server_factory, client):
    marker = "ZEBRA-PROMPT-MARKER"
    client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": marker}], max_tokens=2
    )
    assert marker not in server.log_text()
    logged = server_factory("--parallel", "1", "--log-content")
    from openai import OpenAI

    OpenAI(base_url=logged.base_url, api_key="x").chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": marker}], max_tokens=2
    )
    assert marker in logged.log_text()


def test_x_api_key_is_accepted_and_anthropic_paths_get_anthropic_401s(tight_server):
    import anthropic

    url = tight_server.url
    assert httpx.get(f"{url}/v1/models", headers={"x-api-key": "sekret"}).status_code == 200
    refused = httpx.post(f"{url}/v1/messages/count_tokens", headers={"x-api-key": "nope"}, json={})
    assert refused.status_code == 401
    assert refused.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "missing or wrong API key"},
    }
    claude = anthropic.Anthropic(base_url=url, api_key="sekret", max_retries=0, timeout=60)
    messages = [{"role": "user", "content": "hi"}]
    assert claude.messages.count_tokens(model="smollm2", messages=messages).input_tokens > 0
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=url, api_key="nope", max_retries=0).messages.count_tokens(
            model="smollm2", messages=messages
        )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/responses", {"input": "Write a long essay about the kidney.", "max_output_tokens": 900}),
        ("/v1/messages", {"messages": LONG["messages"], "max_tokens": 900}),
    ],
)
def test_client_disconnect_cancels_responses_and_messages_streams(server, path, body):
    body = {**body, "stream": True, "model": "smollm2", "enable_thinking": False}
    with httpx.stream("POST", f"{server.url}{path}", json=body, timeout=60) as response:
        assert response.status_code == 200
        for i, _line in enumerate(response.iter_lines()):
            if i > 8:
                break
    deadline = time.monotonic() + 10
    while _active(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _active(server) == 0
