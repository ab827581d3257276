"""Images and video through `galen serve --model tiny-qwen3.6`, with the real `openai` SDK.

The card's image, video and instruct-mode snippets run verbatim but for their URLs, which point
at a loopback file server started here. The tiny model has random weights, so tests compare runs
with each other: at temperature 0, different pixels give different answers, and the same image
as data:, file:// and http(s) URL gives the same one.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from media_samples import data_url, media_server, mp4, png
from openai import BadRequestError, OpenAI

pytestmark = pytest.mark.slow
CARD = "EpistemeAI/Reasoning-Medical-27B"


@pytest.fixture(scope="module")
def media(media_dir: Path):
    (media_dir / "lesion.png").write_bytes(png((200, 40, 40)))
    (media_dir / "plain.png").write_bytes(png((20, 90, 200)))
    (media_dir / "wide.png").write_bytes(png((200, 40, 40), size=(640, 336)))
    (media_dir / "clip.mp4").write_bytes(mp4())
    with media_server(media_dir) as url:
        yield url


@pytest.fixture(scope="module")
def client(qwen_server) -> OpenAI:
    return OpenAI(base_url=qwen_server.base_url, api_key="EMPTY", max_retries=0, timeout=120)


def image_messages(url: str, text: str = "Where is this?") -> list[dict]:
    return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                         {"type": "text", "text": text}]}]  # fmt: skip


def greedy(client: OpenAI, messages: list[dict], **extra) -> tuple[int, str]:
    r = client.chat.completions.create(model="tiny-qwen3.6", messages=messages, max_tokens=6,
                                       temperature=0.0, extra_body=extra or None)  # fmt: skip
    return r.usage.prompt_tokens, r.choices[0].message.reasoning_content


@pytest.mark.parametrize("stream", [False, True])
def test_card_image_snippet(client: OpenAI, media: str, stream: bool) -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {
                    "type": "image_url",
                    "image_url": {
                        "url": f"{media}/lesion.png"
                    }
                },
                {
                    "type": "text",
                    "text": "The centres of the four illustrated circles are in the corners of the square. The two big circles touch each other and also the two little circles. With which factor do you have to multiply the radii of the little circles to obtain the radius of the big circles?\nChoices:\n(A) $\\frac{2}{9}$\n(B) $\\sqrt{5}$\n(C) $0.8 \\cdot \\pi$\n(D) 2.5\n(E) $1+\\sqrt{2}$"  # noqa: E501
                }
            ]
        }
    ]  # fmt: skip
    chat_response = client.chat.completions.create(
        model="EpistemeAI/Reasoning-Medical-27B",
        messages=messages,
        max_tokens=81920,
        temperature=1.0,
        top_p=0.95,
        presence_penalty=0.0,
        extra_body={
            "top_k": 20,
        },
        stream=stream,
    )
    if stream:
        chunks = list(chat_response)
        reasoning = "".join(c.choices[0].delta.model_extra.get("reasoning_content") or "" for c in chunks)
        assert chunks[-1].choices[0].finish_reason == "length" and reasoning
    else:
        message = chat_response.choices[0].message
        # Thinking is on by default; random weights never close the block, so the window runs out.
        assert message.reasoning_content and chat_response.choices[0].finish_reason == "length"
        # 448x336 pixels -> 448x320 (multiples of 32) -> 28x20 patches of 16 -> 14x10 = 140 tokens.
        assert chat_response.usage.prompt_tokens > 140
        assert chat_response.usage.prompt_tokens + chat_response.usage.completion_tokens == 768


@pytest.mark.parametrize("stream", [False, True])
def test_card_video_snippet(client: OpenAI, media: str, stream: bool) -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {
                    "type": "video_url",
                    "video_url": {
                        "url": f"{media}/clip.mp4"
                    }
                },
                {
                    "type": "text",
                    "text": "How many porcelain jars were discovered in the niches located in the primary chamber of the tomb?"  # noqa: E501
                }
            ]
        }
    ]  # fmt: skip
    chat_response = client.chat.completions.create(
        model="EpistemeAI/Reasoning-Medical-27B",
        messages=messages,
        max_tokens=81920,
        temperature=1.0,
        top_p=0.95,
        presence_penalty=0.0,
        extra_body={
            "top_k": 20,
            "mm_processor_kwargs": {"fps": 2, "do_sample_frames": True},
        },
        stream=stream,
        stream_options={"include_usage": True} if stream else None,
    )
    usage = list(chat_response)[-1].usage if stream else chat_response.usage
    # 3 s at 2 fps -> 6 frames -> 3 temporal patches of 10x8 merged tokens, each with its timestamp.
    assert usage.prompt_tokens > 3 * 80


@pytest.mark.parametrize("stream", [False, True])
def test_card_instruct_snippet_with_an_image(client: OpenAI, media: str, stream: bool) -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {
                    "type": "image_url",
                    "image_url": {
                        "url": f"{media}/plain.png"
                    }
                },
                {
                    "type": "text",
                    "text": "Where is this?"
                }
            ]
        }
    ]  # fmt: skip
    chat_response = client.chat.completions.create(
        model="EpistemeAI/Reasoning-Medical-27B",
        messages=messages,
        max_tokens=32768,
        temperature=0.7,
        top_p=0.8,
        presence_penalty=1.5,
        extra_body={
            "top_k": 20,
            "chat_template_kwargs": {"enable_thinking": False},
        },
        stream=stream,
    )
    if stream:
        chunks = list(chat_response)
        assert not any(c.choices and c.choices[0].delta.model_extra.get("reasoning_content") for c in chunks)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        message = chat_response.choices[0].message
        assert message.content and message.model_extra.get("reasoning_content") is None


def test_the_answer_comes_from_the_pixels(client: OpenAI, media: str) -> None:
    red_tokens, red = greedy(client, image_messages(f"{media}/lesion.png"))
    blue_tokens, blue = greedy(client, image_messages(f"{media}/plain.png"))
    assert red_tokens == blue_tokens and red != blue  # same size, different pixels
    wide_tokens, _ = greedy(client, image_messages(f"{media}/wide.png"))
    assert wide_tokens > red_tokens  # 640 pixels wide -> more patches
    text_tokens, _ = greedy(client, [{"role": "user", "content": "Where is this?"}])
    assert red_tokens > text_tokens + 100


def test_data_file_and_http_urls_give_the_same_answer(client: OpenAI, media: str, media_dir: Path) -> None:
    by_http = greedy(client, image_messages(f"{media}/lesion.png"))
    by_data = greedy(client, image_messages(data_url((media_dir / "lesion.png").read_bytes(), "image/png")))
    by_file = greedy(client, image_messages((media_dir / "lesion.png").as_uri()))
    assert by_http == by_data == by_file


def test_fewer_frames_with_a_lower_fps(client: OpenAI, media: str) -> None:
    video = [{"role": "user", "content": [{"type": "video_url", "video_url": {"url": f"{media}/clip.mp4"}}]}]
    two, _ = greedy(client, video, mm_processor_kwargs={"fps": 2})
    eight, _ = greedy(client, video, mm_processor_kwargs={"num_frames": 12})
    assert eight > two  # 12 frames -> 6 temporal patches instead of 3


def bad_request(client: OpenAI, messages: list[dict], model: str = "tiny-qwen3.6", **extra) -> dict:
    with pytest.raises(BadRequestError) as info:
        client.chat.completions.create(model=model, messages=messages, max_tokens=2, extra_body=extra)
    assert info.value.status_code == 400
    return info.value.body  # the SDK gives the "error" object


def part(kind: str, url: str) -> list[dict]:
    field = f"{kind}_url"
    return [
        {"role": "user", "content": [{"type": "text", "text": "Look:"}, {"type": field, field: {"url": url}}]}
    ]


def bad_inputs(media: str, media_dir: Path, outside: Path) -> list[tuple[str, list[dict], dict, str, str]]:
    """(name, messages, extra body, code, param) for each kind of bad input."""
    icon = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (8, 8)).save(icon, "ICO")
    clip = mp4()
    where = "messages[0].content[1]"
    return [
        ("corrupt image", part("image", data_url(b"garbage" * 10, "image/png")), {}, "invalid_media", where),
        ("truncated image", part("image", data_url(png()[:300], "image/png")), {}, "invalid_media", where),
        (
            "unsupported format",
            part("image", data_url(icon.getvalue(), "image/x-icon")),
            {},
            "invalid_media",
            where,
        ),
        ("unknown scheme", part("image", "ftp://127.0.0.1/lesion.png"), {}, "invalid_media_url", where),
        ("host not allowed", part("image", "http://example.org/lesion.png"), {}, "media_not_allowed", where),
        (
            "loopback by name",
            part("image", media.replace("127.0.0.1", "localhost") + "/lesion.png"),
            {},
            "media_not_allowed",
            where,
        ),
        ("file outside the folder", part("image", outside.as_uri()), {}, "media_not_allowed", where),
        ("missing file", part("image", (media_dir / "none.png").as_uri()), {}, "invalid_media_url", where),
        ("corrupt video", part("video", data_url(b"\x00" * 64, "video/mp4")), {}, "invalid_media", where),
        (
            "truncated video",
            part("video", data_url(clip[: len(clip) // 2], "video/mp4")),
            {},
            "invalid_media",
            where,
        ),
        (
            "too many frames",
            part("video", f"{media}/clip.mp4"),
            {"mm_processor_kwargs": {"do_sample_frames": False}},
            "too_many_frames",
            where,
        ),
        (
            "fps <= 0",
            part("video", f"{media}/clip.mp4"),
            {"mm_processor_kwargs": {"fps": 0}},
            None,
            "mm_processor_kwargs.fps",
        ),
    ]


def test_bad_media_is_a_400_naming_the_part_and_the_server_keeps_serving(
    client: OpenAI, media: str, media_dir: Path, tmp_path: Path, qwen_server
) -> None:
    (tmp_path / "secret.png").write_bytes(png())
    for name, messages, extra, code, param in bad_inputs(media, media_dir, tmp_path / "secret.png"):
        error = bad_request(client, messages, **extra)
        assert error["param"] == param and error["type"] == "invalid_request_error", name
        assert error["code"] == code and error["message"].startswith(param), (name, error)
    assert httpx.get(f"{qwen_server.url}/health").json()["status"] == "ok"
    assert greedy(client, image_messages(f"{media}/lesion.png"))[1]


def test_media_on_a_text_model_is_refused(client_smol: OpenAI) -> None:
    messages = part("image", "data:,")
    error = bad_request(client_smol, messages, model="smollm2")
    assert error["code"] == "model_has_no_vision" and error["param"] == "messages[0].content[1]"
    card = client_smol.models.list().data[0].model_extra["capabilities"]
    assert card["vision"] is False and card["media"] == []


@pytest.fixture(scope="module")
def client_smol(server) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=0, timeout=120)


def test_galen_chat_attaches_an_image(qwen_server, media: str, media_dir: Path) -> None:
    command = [sys.executable, "-m", "galen.cli.main", "chat", "Where is this?", "--no-think",
               "--max-tokens", "4", "--base-url", qwen_server.base_url]  # fmt: skip
    run = {"capture_output": True, "text": True, "timeout": 120}
    done = subprocess.run([*command, "--image", str(media_dir / "lesion.png")], **run)
    assert done.returncode == 0, done.stdout + done.stderr
    missing = subprocess.run([*command, "--image", str(media_dir / "none.png")], **run)
    assert missing.returncode == 2 and "cannot read --image" in missing.stdout
