"""Small images and videos made in code, and a loopback HTTP server to fetch them from."""

from __future__ import annotations

import base64
import http.server
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def png(color: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (448, 336)) -> bytes:
    """A white picture with one coloured disc (the acceptance check's "lesion")."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    w, h = size
    ImageDraw.Draw(image).ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=color)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def mp4(frames: int = 24, fps: int = 8, size: tuple[int, int] = (320, 240)) -> bytes:
    """An H.264 clip of a white bar growing from the left, one step per frame."""
    import av

    out = io.BytesIO()
    w, h = size
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            frame = np.zeros((h, w, 3), np.uint8)
            frame[:, : (i + 1) * w // frames] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files from a folder, plus /redirect?to=URL and /slow (answers after 3 s)."""

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.end_headers()
            return
        if self.path == "/slow":
            time.sleep(3)
        super().do_GET()


@contextmanager
def media_server(folder: Path) -> Iterator[str]:
    """Serve `folder` on a free loopback port; yields http://127.0.0.1:PORT."""

    def handler(*args: object) -> _Handler:
        return _Handler(*args, directory=str(folder))  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
