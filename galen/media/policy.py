"""What `galen serve` may fetch and decode for a request: allow-lists and limits.

The defaults follow vLLM's stance: media come inline (data: URLs) unless the operator opens
remote fetching (`--allowed-media-domains`) or a local folder (`--allowed-local-media-path`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

MEDIA_KINDS = ("image", "video")
DEFAULT_ITEMS = MappingProxyType({"image": 8, "video": 2})


@dataclass(frozen=True)
class MediaPolicy:
    """Limits on one request's media.

    allowed_domains: hosts (exact names or IP addresses) that http(s) media may come from;
        empty means remote fetching is off. A listed name that resolves to a loopback, private,
        link-local or reserved address is refused: list the address itself to allow it.
    allowed_local_path: the folder that file:// media may come from; None means file:// is off.
    max_bytes: largest media item, in bytes, however it arrives.
    max_image_pixels: largest image (or video frame), in pixels, checked before decoding.
    max_video_frames: most frames of one video that reach the model, after sampling.
    max_items: most items of each kind in one request (vLLM's `--limit-mm-per-prompt`).
    timeout: seconds a whole download may take, redirects included.
    max_redirects: redirects followed, each re-checked against `allowed_domains`.
    processor_kwargs: server-wide `mm_processor_kwargs` (`--mm-processor-kwargs`); a request's
        own override them key by key.
    """

    allowed_domains: tuple[str, ...] = ()
    allowed_local_path: Path | None = None
    max_bytes: int = 32 * 2**20
    max_image_pixels: int = 4096 * 4096
    max_video_frames: int = 768
    max_items: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_ITEMS))
    timeout: float = 10.0
    max_redirects: int = 3
    processor_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        domains = tuple(d.strip().lower().rstrip(".") for d in self.allowed_domains if d.strip())
        object.__setattr__(self, "allowed_domains", domains)
        unknown = set(self.max_items) - set(MEDIA_KINDS)
        if unknown:
            raise ValueError(f"max_items: unknown media kind {sorted(unknown)}; use image and video")
        for name in ("max_bytes", "max_image_pixels", "max_video_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.timeout <= 0:
            raise ValueError("timeout must be more than 0 seconds")
