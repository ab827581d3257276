"""Images and video for a vLLM server, with galen's own prompt.

vLLM's `/v1/completions` takes no media, so a media prompt goes to `/v1/chat/completions`
instead, shaped so that vLLM's answer is what `/v1/completions` would give:

- vLLM is started with a pass-through chat template (`models/templates/prerendered.jinja`,
  see `engine.vllm_media`), so the prompt it tokenizes is exactly the one galen rendered,
  vision placeholders included; vLLM's processor expands each placeholder for the media part at
  the same position in the request's list (images and videos each in order);
- the media travel inline as data: URLs of the bytes galen fetched under its own allow-lists
  (so vLLM needs no network access or allow-list of its own);
- special tokens are kept and no reasoning or tool parser is asked for, so galen's parser reads
  the raw text, as for every other engine. `mm_processor_kwargs` (fps, ...) pass through.
"""

from __future__ import annotations

from typing import Any

from galen.engine.base import GenerationRequest, MediaPrompt
from galen.media import FrameDefaults, MediaInput, decode_image, decode_video

DEFAULT_MIME = {"image": "image/png", "video": "video/mp4"}


def check_media(media: MediaInput) -> None:
    """Refuse broken or oversized media with a 400 naming the part, before vLLM sees it.
    Frame limits are checked with the Qwen3.6 defaults (vLLM samples the frames itself)."""
    for item in media.items:
        if item.kind == "image":
            decode_image(item.content.data, media.policy, item.where)
        else:
            decode_video(
                item.content.data, media.policy, item.where, media.sampling, FrameDefaults(), check_only=True
            )


def media_content(prompt: MediaPrompt) -> list[dict[str, Any]]:
    """The one user message's parts: the rendered prompt, then each medium as a data: URL."""
    parts: list[dict[str, Any]] = [{"type": "text", "text": prompt.text}]
    for item in prompt.media.items:
        field = f"{item.kind}_url"
        parts.append({"type": field, field: {"url": item.content.data_url(DEFAULT_MIME[item.kind])}})
    return parts


def chat_body(completion_body: dict[str, Any], request: GenerationRequest) -> dict[str, Any]:
    """A `/v1/completions` body (sampling, stops, schema) turned into the chat body for a media prompt."""
    prompt = request.prompt
    assert isinstance(prompt, MediaPrompt), "only media prompts go through the chat endpoint"
    body = {k: v for k, v in completion_body.items() if k not in ("prompt", "add_special_tokens")}
    body["messages"] = [{"role": "user", "content": media_content(prompt)}]
    body["add_generation_prompt"] = False  # the rendered prompt already ends with it
    if prompt.media.processor_kwargs:
        body["mm_processor_kwargs"] = dict(prompt.media.processor_kwargs)
    return body
