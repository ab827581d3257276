"""Time to first token with an image and with an 8-frame video on the tiny Qwen3.6 model.

What is timed, in-process on the transformers engine (no HTTP), per request: from the chat
request to its first streamed token, and within it the media preprocessing (decoding with
Pillow / PyAV, frame choice, the image processor, patches and placeholder expansion:
`engine.encode_media`). A text-only request of the same words is the baseline. The media are
made in code: a 448x336 PNG (154 vision tokens) and a 3-second 320x240 H.264 clip at 8 fps of
which `num_frames: 8` are used (4 temporal patches of 80 tokens). The tiny model has random
weights, so the figures measure galen's media path and the vision tower's shape, not a 27B.

    .venv/bin/python benchmarks/vision.py              # 10 runs each, table + docs/PERFORMANCE.md
    .venv/bin/python benchmarks/vision.py --runs 1 --no-write   # smoke run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import machine_lines, markdown_table, write_section  # noqa: E402
from media_samples import data_url, mp4, png  # noqa: E402

from galen.engine.base import MediaPrompt  # noqa: E402
from galen.engine.chat import ChatEngine, ChatRequest  # noqa: E402
from galen.engine.registry import load_engine  # noqa: E402
from galen.engine.sampling import SamplingParams  # noqa: E402
from galen.models.source import resolve  # noqa: E402

QUESTION = "Where is this?"


class TimedEncode:
    """Wraps the engine's encode_media to add up the time spent preparing media."""

    def __init__(self, engine: object) -> None:
        self.engine, self.inner, self.seconds = engine, engine.encode_media, 0.0
        engine.encode_media = self  # type: ignore[method-assign]

    def __call__(self, prompt: MediaPrompt) -> MediaPrompt:
        started = time.perf_counter()
        try:
            return self.inner(prompt)
        finally:
            self.seconds += time.perf_counter() - started


def first_token(chat: ChatEngine, timer: TimedEncode, request: ChatRequest) -> tuple[float, float, int]:
    """(seconds to the first streamed token, seconds of media preparation, prompt tokens)."""
    timer.seconds = 0.0
    started = time.perf_counter()
    prepared = chat.prepare(request)
    events = chat.run(prepared, seed=0)
    next(events)
    ttft = time.perf_counter() - started
    events.close()
    return ttft, timer.seconds, prepared.prompt.tokens


def cases() -> dict[str, ChatRequest]:
    sampling = SamplingParams(max_tokens=1, temperature=0.0)
    image = {"type": "image_url", "image_url": {"url": data_url(png(), "image/png")}}
    video = {"type": "video_url", "video_url": {"url": data_url(mp4(), "video/mp4")}}
    text = {"type": "text", "text": QUESTION}
    return {
        "text only": ChatRequest([{"role": "user", "content": QUESTION}], sampling),
        "one image (448x336)": ChatRequest([{"role": "user", "content": [image, text]}], sampling),
        "one video (8 frames)": ChatRequest(
            [{"role": "user", "content": [video, text]}], sampling, mm_processor_kwargs={"num_frames": 8}
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    source = resolve("tiny-qwen3.6")
    engine = load_engine(source)
    chat, timer = ChatEngine(engine, source), TimedEncode(engine)
    rows = []
    for name, request in cases().items():
        first_token(chat, timer, request)  # warm-up: first calls allocate and load kernels
        runs = [first_token(chat, timer, request) for _ in range(args.runs)]
        ttft = statistics.median(r[0] for r in runs)
        media = statistics.median(r[1] for r in runs)
        share = f"{100 * media / ttft:.0f}%" if media else "-"
        rows.append([name, str(runs[0][2]), f"{1000 * ttft:.1f}", f"{1000 * media:.1f}", share])
    engine.close()
    table = markdown_table(["request", "prompt tokens", "TTFT ms (median)", "media prep ms", "share"], rows)
    print(table)
    if args.write:
        note = f"Median of {args.runs} runs after one warm-up; `benchmarks/vision.py`."
        body = "\n".join([*machine_lines(["torch", "transformers", "pillow", "av"]), "", note, "", table])
        write_section("Vision: time to first token (tiny-qwen3.6)", body)


if __name__ == "__main__":
    main()
