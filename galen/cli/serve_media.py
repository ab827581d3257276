"""`galen serve` flags for image and video input (named as vLLM names them), and what they build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from galen.engine.vllm_media import VLLMMediaFlags
from galen.media.policy import DEFAULT_ITEMS, MediaPolicy

AllowedMediaDomains = Annotated[
    list[str] | None,
    typer.Option(help="Hosts http(s) media may come from (repeat, or comma-separate); off when unset."),
]
AllowedLocalMediaPath = Annotated[
    Path | None, typer.Option(help="Folder file:// media may come from; off when unset.")
]
LimitMmPerPrompt = Annotated[
    str | None, typer.Option(help='Items per request, JSON, e.g. \'{"image": 8, "video": 2}\'.')
]
MaxMediaBytes = Annotated[int, typer.Option(min=1, help="Largest media item, in bytes.")]
MaxImagePixels = Annotated[int, typer.Option(min=1, help="Largest image or video frame, in pixels.")]
MaxVideoFrames = Annotated[int, typer.Option(min=1, help="Most video frames that reach the model.")]
MediaTimeout = Annotated[float, typer.Option(min=0.1, help="Seconds a media download may take.")]
MmProcessorKwargs = Annotated[
    str | None, typer.Option(help="Default mm_processor_kwargs, JSON (e.g. video fps); vLLM too.")
]
MediaIoKwargs = Annotated[
    str | None, typer.Option(help='vLLM --media-io-kwargs, JSON (default: {"video": {"num_frames": -1}}).')
]
LanguageModelOnly = Annotated[
    bool, typer.Option(help="Serve text only: refuse media (vLLM skips the vision tower).")
]


def parse_json(flag: str, text: str | None) -> Any:
    """A JSON flag's value; a bad one is a one-line error naming the flag."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{flag} is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ValueError(f'{flag} must be a JSON object, like {{"image": 4}}')
    return value


def media_policy(
    domains: list[str] | None,
    local_path: Path | None,
    limit_mm_per_prompt: str | None,
    max_bytes: int,
    max_image_pixels: int,
    max_video_frames: int,
    timeout: float,
    processor_kwargs: str | None,
) -> MediaPolicy:
    """The flags as a MediaPolicy; raises ValueError with a message for the user."""
    if local_path is not None and not local_path.is_dir():
        raise ValueError(f"--allowed-local-media-path {local_path} is not a folder")
    items = parse_json("--limit-mm-per-prompt", limit_mm_per_prompt)
    return MediaPolicy(
        allowed_domains=tuple(d for entry in domains or () for d in entry.split(",")),
        allowed_local_path=local_path,
        max_bytes=max_bytes,
        max_image_pixels=max_image_pixels,
        max_video_frames=max_video_frames,
        max_items={**DEFAULT_ITEMS, **(items or {})},
        timeout=timeout,
        processor_kwargs=parse_json("--mm-processor-kwargs", processor_kwargs) or {},
    )


def vllm_media_flags(
    policy: MediaPolicy, media_io_kwargs: str | None, language_model_only: bool
) -> VLLMMediaFlags:
    flags = VLLMMediaFlags(
        limit_mm_per_prompt=dict(policy.max_items),
        mm_processor_kwargs=dict(policy.processor_kwargs) or None,
        language_model_only=language_model_only,
    )
    if media_io_kwargs is not None:
        flags.media_io_kwargs = parse_json("--media-io-kwargs", media_io_kwargs)
    return flags
