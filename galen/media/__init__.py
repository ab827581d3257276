"""Images and video in chat requests: fetching them safely, decoding them, choosing frames.

`collect_media()` gathers a request's image and video parts, in prompt order, as bytes (every
engine needs that much); engines that run the model themselves decode them with `decode_image`
and `decode_video`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from galen.errors import BadRequest
from galen.media.fetch import MediaBytes, load_media
from galen.media.image import decode_image
from galen.media.policy import MEDIA_KINDS, MediaPolicy
from galen.media.video import FrameDefaults, FrameSampling, Video, decode_video, frame_indices

MediaKind = Literal["image", "video"]
# OpenAI's part types (and vLLM's) -> the kind of media and the field holding its URL.
PART_KINDS: dict[str, MediaKind] = {"image_url": "image", "video_url": "video"}


@dataclass(frozen=True)
class MediaItem:
    kind: MediaKind
    where: str  # the content part it came from, e.g. messages[0].content[1]
    content: MediaBytes


@dataclass(frozen=True)
class MediaInput:
    """A request's media in the order the prompt shows them, and how to sample its videos."""

    items: tuple[MediaItem, ...]
    sampling: FrameSampling = field(default_factory=FrameSampling)
    policy: MediaPolicy = field(default_factory=MediaPolicy)
    processor_kwargs: Mapping[str, Any] = field(default_factory=dict)  # the request's, for vLLM

    def of_kind(self, kind: MediaKind) -> list[MediaItem]:
        return [item for item in self.items if item.kind == kind]


def _url(part: dict[str, Any], kind_field: str, where: str) -> str:
    value = part.get(kind_field)
    url = value.get("url") if isinstance(value, dict) else value
    if not isinstance(url, str) or not url:
        raise BadRequest(f"{where}.{kind_field}.url", "is required", code="invalid_media_url")
    return url


def media_parts(messages: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(where, part type, part) for every media part, in message and part order."""
    found = []
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, dict) and part.get("type") != "text":
                    found.append((f"messages[{i}].content[{j}]", str(part.get("type")), part))
    return found


def collect_media(
    messages: list[dict[str, Any]], policy: MediaPolicy, processor_kwargs: Mapping[str, Any] | None = None
) -> MediaInput:
    """Check counts and fetch every image and video part of normalised `messages`."""
    processor_kwargs = {**policy.processor_kwargs, **(processor_kwargs or {})}
    sampling = FrameSampling.from_kwargs(processor_kwargs)
    parts = media_parts(messages)
    counts = {kind: 0 for kind in MEDIA_KINDS}
    items = []
    for where, part_type, part in parts:
        kind = PART_KINDS.get(part_type)
        if kind is None:
            raise BadRequest(
                where,
                f"'{part_type}' parts are not supported; send image_url or video_url",
                code="invalid_media",
            )
        counts[kind] += 1
        limit = policy.max_items.get(kind, 0)
        if counts[kind] > limit:
            raise BadRequest(
                where,
                f"more than {limit} {kind} item(s) in one request, the server's limit "
                "(galen serve --limit-mm-per-prompt)",
                code="too_many_media_items",
            )
        items.append(MediaItem(kind, where, load_media(_url(part, part_type, where), policy, where)))
    return MediaInput(tuple(items), sampling, policy, processor_kwargs)


__all__ = [
    "FrameDefaults",
    "FrameSampling",
    "MediaBytes",
    "MediaInput",
    "MediaItem",
    "MediaPolicy",
    "Video",
    "collect_media",
    "decode_image",
    "decode_video",
    "frame_indices",
    "load_media",
    "media_parts",
]
