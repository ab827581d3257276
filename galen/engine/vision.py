"""Pixels and vision tokens for transformers' Qwen3-VL-family models (Qwen3-VL, Qwen3.5, Qwen3.6).

The chat template writes one placeholder per item (`<|vision_start|><|image_pad|><|vision_end|>`,
and the same with `<|video_pad|>`). Here each is replaced by as many pad tokens as the vision
tower will produce, and the pixels are prepared, exactly as the model's processor and vLLM do:

- an image goes through the image processor saved with the model (preprocessor_config.json);
- a video's chosen frames (see `galen.media.video`) are resized to one size for all frames,
  normalised and cut into patches of `temporal_patch_size` frames, and each pair of frames gets
  its timestamp in text, `<0.5 seconds>`, before its own placeholder block.

Videos are prepared here rather than by transformers' `Qwen3VLVideoProcessor` because that class
needs torchvision, which has no CPU build on PyPI for the pinned torch; the steps below follow
its `resize` (`smart_resize` is transformers' own), `rescale_and_normalize` and `patchify`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from galen.engine.base import MediaPrompt
from galen.errors import BadRequest
from galen.media import FrameDefaults, MediaInput, decode_image, decode_video


@dataclass(frozen=True)
class VideoSettings:
    """video_preprocessor_config.json, the fields that shape the pixels."""

    min_pixels: int
    max_pixels: int
    patch_size: int
    temporal_patch_size: int
    merge_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    frames: FrameDefaults

    @classmethod
    def load(cls, folder: Path, image_processor: Any) -> VideoSettings:
        file = folder / "video_preprocessor_config.json"
        raw = json.loads(file.read_text()) if file.exists() else {}
        size = raw.get("size") or {"shortest_edge": 4096, "longest_edge": 25165824}
        return cls(
            min_pixels=int(size["shortest_edge"]),
            max_pixels=int(size["longest_edge"]),
            patch_size=int(raw.get("patch_size", image_processor.patch_size)),
            temporal_patch_size=int(raw.get("temporal_patch_size", image_processor.temporal_patch_size)),
            merge_size=int(raw.get("merge_size", image_processor.merge_size)),
            mean=tuple(raw.get("image_mean", image_processor.image_mean)),
            std=tuple(raw.get("image_std", image_processor.image_std)),
            frames=FrameDefaults(
                fps=float(raw.get("fps", 2)),
                do_sample_frames=bool(raw.get("do_sample_frames", True)),
                min_frames=int(raw.get("min_frames", 4)),
                max_frames=int(raw.get("max_frames", 768)),
            ),
        )


class QwenVision:
    """Turns a MediaPrompt into token ids and the model's vision inputs."""

    def __init__(self, folder: Path, tokenizer: Any, config: Any) -> None:
        from transformers import AutoImageProcessor

        self.tokenizer = tokenizer
        self.image_processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        self.video = VideoSettings.load(folder, self.image_processor)
        token = tokenizer.convert_ids_to_tokens
        self.start, self.end = token(config.vision_start_token_id), token(config.vision_end_token_id)
        self.image_pad, self.video_pad = token(config.image_token_id), token(config.video_token_id)
        self.image_id, self.video_id = config.image_token_id, config.video_token_id
        self.placeholders = {
            "image": self.start + self.image_pad + self.end,
            "video": self.start + self.video_pad + self.end,
        }
        self._pattern = re.compile("|".join(re.escape(p) for p in self.placeholders.values()))

    def encode(self, prompt: MediaPrompt) -> MediaPrompt:
        media = prompt.media
        pieces, features = self._expand(prompt.text, media)
        ids = self.tokenizer.encode("".join(pieces), add_special_tokens=False)
        kinds = torch.tensor(ids)
        features["mm_token_type_ids"] = (
            (kinds == self.image_id).int() + 2 * (kinds == self.video_id).int()
        ).unsqueeze(0)
        return MediaPrompt(prompt.text, media, ids, features)

    def _expand(self, text: str, media: MediaInput) -> tuple[list[str], dict[str, torch.Tensor]]:
        found = list(self._pattern.finditer(text))
        kinds = [k for m in found for k, p in self.placeholders.items() if m.group() == p]
        if kinds != [item.kind for item in media.items]:
            raise BadRequest(
                "messages",
                f"the chat template placed {len(found)} media placeholders for {len(media.items)} "
                "media parts; put images and video in user messages only",
                code="invalid_media",
            )
        images = self._images(media)
        videos = self._videos(media)
        blocks = {"image": iter(images.pop("blocks", [])), "video": iter(videos.pop("blocks", []))}
        pieces, last = [], 0
        for match, kind in zip(found, kinds, strict=True):
            pieces += [text[last : match.start()], next(blocks[kind])]
            last = match.end()
        pieces.append(text[last:])
        return pieces, {**images, **videos}

    def _images(self, media: MediaInput) -> dict[str, Any]:
        items = media.of_kind("image")
        if not items:
            return {}
        pictures = [decode_image(item.content.data, media.policy, item.where) for item in items]
        out = self.image_processor(images=pictures, return_tensors="pt")
        merge = self.image_processor.merge_size**2
        blocks = [
            self.start + self.image_pad * int(g.prod() // merge) + self.end for g in out["image_grid_thw"]
        ]
        return {
            "pixel_values": out["pixel_values"],
            "image_grid_thw": out["image_grid_thw"],
            "blocks": blocks,
        }

    def _videos(self, media: MediaInput) -> dict[str, Any]:
        items = media.of_kind("video")
        if not items:
            return {}
        patches, grids, blocks = [], [], []
        for item in items:
            clip = decode_video(
                item.content.data, media.policy, item.where, media.sampling, self.video.frames
            )
            pixels, grid = self._patchify(clip.frames)
            patches.append(pixels)
            grids.append(grid)
            blocks.append(self._video_block(grid, clip.indices, clip.fps))
        return {
            "pixel_values_videos": torch.cat(patches),
            "video_grid_thw": torch.tensor(grids),
            "blocks": blocks,
        }

    def _video_block(self, grid: list[int], indices: list[int], fps: float) -> str:
        v = self.video
        per_frame = grid[1] * grid[2] // v.merge_size**2
        # A patch spans `temporal_patch_size` frames; its time is the mean of its first and last.
        padded = indices + [indices[-1]] * (-len(indices) % v.temporal_patch_size)
        step = v.temporal_patch_size
        times = [(padded[i] + padded[i + step - 1]) / 2 / fps for i in range(0, len(padded), step)]
        return "".join(f"<{t:.1f} seconds>{self.start}{self.video_pad * per_frame}{self.end}" for t in times)

    def _patchify(self, frames: np.ndarray) -> tuple[torch.Tensor, list[int]]:
        from PIL import Image
        from transformers.models.qwen3_vl.video_processing_qwen3_vl import smart_resize

        v = self.video
        count, height, width = frames.shape[0], frames.shape[1], frames.shape[2]
        factor = v.patch_size * v.merge_size
        # smart_resize wants at least one temporal patch of frames; fewer are padded below anyway.
        h, w = smart_resize(
            max(count, v.temporal_patch_size),
            height,
            width,
            v.temporal_patch_size,
            factor,
            v.min_pixels,
            v.max_pixels,
        )
        resized = np.stack(
            [np.asarray(Image.fromarray(f).resize((w, h), Image.Resampling.BICUBIC)) for f in frames]
        )
        x = torch.from_numpy(resized).permute(0, 3, 1, 2).float() / 255.0  # (T, C, H, W)
        x = (x - torch.tensor(v.mean).view(1, -1, 1, 1)) / torch.tensor(v.std).view(1, -1, 1, 1)
        if pad := -count % v.temporal_patch_size:
            x = torch.cat([x, x[-1:].expand(pad, -1, -1, -1)])
        t, p, m, c = x.shape[0] // v.temporal_patch_size, v.patch_size, v.merge_size, x.shape[1]
        gh, gw = h // p, w // p
        x = x.view(t, v.temporal_patch_size, c, gh // m, m, p, gw // m, m, p)
        x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)  # t, h-blocks, w-blocks, h-in, w-in, c, tp, p, p
        return x.reshape(t * gh * gw, c * v.temporal_patch_size * p * p), [t, gh, gw]
