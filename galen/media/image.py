"""Decode an image with Pillow, refusing what is not an image, too large, or broken."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from galen.errors import BadRequest
from galen.media.policy import MediaPolicy

if TYPE_CHECKING:
    from PIL.Image import Image

# Raster formats Pillow decodes and vision models are trained on; anything else is refused.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")


def decode_image(data: bytes, policy: MediaPolicy, where: str) -> Image:
    """An RGB image; errors are 400s naming `where`."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
    except (UnidentifiedImageError, OSError, ValueError):
        raise BadRequest(
            where,
            f"not an image galen can read; send {', '.join(IMAGE_FORMATS)} (as image_url), "
            "or a video as video_url",
            code="invalid_media",
        ) from None
    if image.format not in IMAGE_FORMATS:
        raise BadRequest(
            where,
            f"unsupported image format {image.format}; send one of {', '.join(IMAGE_FORMATS)}",
            code="invalid_media",
        )
    width, height = image.size
    if width * height > policy.max_image_pixels:
        raise BadRequest(
            where,
            f"the image is {width}x{height} pixels, more than the server's limit of "
            f"{policy.max_image_pixels} (galen serve --max-image-pixels); send a smaller image",
            code="media_too_large",
        )
    try:
        image.load()
        return image.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise BadRequest(
            where, f"the {image.format} image is corrupt or truncated", code="invalid_media"
        ) from None
