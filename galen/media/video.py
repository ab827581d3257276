"""Decode a video with PyAV and pick its frames the way vLLM and transformers' Qwen3-VL do.

Frame choice follows the video processor of Qwen3-VL / Qwen3.5, which vLLM applies when it is
started with `--media-io-kwargs '{"video": {"num_frames": -1}}'` (the card's setting): every
frame is decoded, then, with `do_sample_frames` (the default), `num_frames` frames or
`fps` frames per second of video (default 2) are taken at evenly spaced indices, at least
`min_frames` and at most `max_frames` and the video's own count. Without it, every frame is used.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from galen.errors import BadRequest
from galen.media.policy import MediaPolicy

KWARGS = "mm_processor_kwargs"


@dataclass(frozen=True)
class FrameSampling:
    """`mm_processor_kwargs` for video: how many frames reach the model. None: the model's default."""

    fps: float | None = None
    do_sample_frames: bool | None = None
    num_frames: int | None = None

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any] | None) -> FrameSampling:
        """Validate a request's `mm_processor_kwargs`; other keys are left to the engine."""
        kwargs = kwargs or {}
        fps, sample, count = kwargs.get("fps"), kwargs.get("do_sample_frames"), kwargs.get("num_frames")
        if fps is not None and (isinstance(fps, bool) or not isinstance(fps, int | float) or fps <= 0):
            raise BadRequest(f"{KWARGS}.fps", f"must be a number above 0, not {fps!r}")
        if sample is not None and not isinstance(sample, bool):
            raise BadRequest(f"{KWARGS}.do_sample_frames", f"must be true or false, not {sample!r}")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise BadRequest(f"{KWARGS}.num_frames", f"must be a whole number of at least 1, not {count!r}")
        if fps is not None and count is not None:
            raise BadRequest(KWARGS, "fps and num_frames cannot both be set; choose one")
        return cls(float(fps) if fps is not None else None, sample, count)


@dataclass(frozen=True)
class FrameDefaults:
    """The model's video processor settings (video_preprocessor_config.json)."""

    fps: float = 2.0
    do_sample_frames: bool = True
    min_frames: int = 4
    max_frames: int = 768


def frame_indices(
    total: int, video_fps: float, sampling: FrameSampling, defaults: FrameDefaults
) -> list[int]:
    """Indices of the frames that reach the model, out of `total` decoded at `video_fps`."""
    sample = defaults.do_sample_frames if sampling.do_sample_frames is None else sampling.do_sample_frames
    if not sample:
        return list(range(total))
    count = sampling.num_frames
    if count is None:
        fps = sampling.fps or defaults.fps
        count = int(total / video_fps * fps)
        count = min(max(count, defaults.min_frames), defaults.max_frames, total)
    return np.linspace(0, total - 1, count).round().astype(int).tolist()


@dataclass(frozen=True)
class Video:
    """The chosen frames, (T, H, W, 3) uint8 RGB, and where they came from."""

    frames: np.ndarray
    fps: float  # of the source video
    total_frames: int
    indices: list[int]


def _invalid(where: str, why: str) -> BadRequest:
    return BadRequest(where, f"{why}; send an MP4, WebM, MOV or MKV video", code="invalid_media")


def _open(data: bytes, where: str) -> Any:
    import av

    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError, OSError, UnicodeDecodeError):
        raise _invalid(where, "not a video galen can read (corrupt, truncated or not a video)") from None
    if not container.streams.video:
        container.close()
        raise _invalid(where, "the file has no video stream")
    if container.format.name.endswith("_pipe") or container.format.name == "image2":
        container.close()  # ffmpeg reads a still image as a one-frame video: say what it is
        raise BadRequest(where, "this is an image; send it as an image_url part", code="invalid_media")
    return container


def _count_frames(data: bytes, where: str) -> tuple[int, float, int]:
    """(frames, frames per second, pixels per frame), from the packets: nothing is decoded."""
    import av

    with _open(data, where) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        pixels = (stream.codec_context.width or 0) * (stream.codec_context.height or 0)
        try:
            count = sum(1 for packet in container.demux(stream) if packet.size)
        except av.FFmpegError:
            raise _invalid(where, "the video is corrupt or truncated") from None
    return count, float(rate or 0), pixels


def decode_video(
    data: bytes,
    policy: MediaPolicy,
    where: str,
    sampling: FrameSampling,
    defaults: FrameDefaults,
    check_only: bool = False,
) -> Video:
    """Decode only the frames `sampling` chooses; errors are 400s naming `where`. With
    `check_only` (an engine that decodes the video itself, like vLLM), every limit is checked but
    only the first chosen frame is decoded."""
    import av

    total, fps, pixels = _count_frames(data, where)
    if total == 0:
        raise _invalid(where, "the video has no frames")
    if fps <= 0:
        raise _invalid(where, "the video does not say its frame rate")
    if pixels > policy.max_image_pixels:
        raise BadRequest(
            where,
            f"video frames of {pixels} pixels are more than the server's limit of "
            f"{policy.max_image_pixels} (galen serve --max-image-pixels)",
            code="media_too_large",
        )
    indices = frame_indices(total, fps, sampling, defaults)
    if len(indices) > policy.max_video_frames:
        raise BadRequest(
            where,
            f"{len(indices)} frames would reach the model, more than the server's limit of "
            f"{policy.max_video_frames} (galen serve --max-video-frames); sample fewer with "
            f"{KWARGS} fps or num_frames",
            code="too_many_frames",
        )
    if check_only:
        indices = indices[:1]
    wanted = {i: n for n, i in enumerate(sorted(set(indices)))}
    kept: list[np.ndarray | None] = [None] * len(wanted)
    with _open(data, where) as container:
        try:
            for i, frame in enumerate(container.decode(video=0)):
                if i in wanted:
                    kept[wanted[i]] = frame.to_ndarray(format="rgb24")
                if i >= indices[-1]:
                    break
        except av.FFmpegError:
            raise _invalid(where, "the video is corrupt or truncated") from None
    if any(f is None for f in kept):
        raise _invalid(where, "the video is truncated: fewer frames decode than its packets promise")
    order = [kept[wanted[i]] for i in indices]
    return Video(np.stack(order), fps, total, indices)
