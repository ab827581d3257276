"""galen.media: fetching under the allow-lists and limits, decoding, and frame choice.

Every refusal is a BadRequest naming the content part, with a code; remote fetches go only to a
loopback server started here.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from media_samples import data_url, media_server, mp4, png

from galen.errors import BadRequest
from galen.media import (
    FrameDefaults,
    FrameSampling,
    MediaPolicy,
    collect_media,
    decode_image,
    decode_video,
    frame_indices,
    load_media,
)

WHERE = "messages[0].content[1]"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    (root / "lesion.png").write_bytes(png())
    (root / "clip.mp4").write_bytes(mp4())
    (root / "big.bin").write_bytes(b"x" * 5000)
    return root


@pytest.fixture(scope="module")
def http(folder: Path):
    with media_server(folder) as url:
        yield url


def refused(url: str, policy: MediaPolicy, code: str) -> str:
    with pytest.raises(BadRequest) as info:
        load_media(url, policy, WHERE)
    assert info.value.param == WHERE and info.value.code == code, info.value.message
    return info.value.message


def test_data_url_round_trips_and_bad_base64_is_refused() -> None:
    got = load_media(data_url(b"\x89PNG...", "image/png"), MediaPolicy(), WHERE)
    assert got.data == b"\x89PNG..." and got.mime == "image/png"
    refused("data:image/png;base64,@@@", MediaPolicy(), "invalid_media")
    refused("data:image/png;base64", MediaPolicy(), "invalid_media")


def test_unknown_scheme_is_refused() -> None:
    assert "ftp:" in refused("ftp://example.org/x.png", MediaPolicy(), "invalid_media_url")
    refused("just-a-name.png", MediaPolicy(), "invalid_media_url")


def test_remote_fetching_is_off_by_default_and_allow_listed(http: str) -> None:
    message = refused(f"{http}/lesion.png", MediaPolicy(), "media_not_allowed")
    assert "--allowed-media-domains" in message
    refused(f"{http}/lesion.png", MediaPolicy(allowed_domains=("example.org",)), "media_not_allowed")
    got = load_media(f"{http}/lesion.png", MediaPolicy(allowed_domains=("127.0.0.1",)), WHERE)
    assert got.data == png() and got.mime == "image/png"


def test_a_name_resolving_to_loopback_is_refused_unless_the_address_is_listed(http: str) -> None:
    url = http.replace("127.0.0.1", "localhost")
    message = refused(url, MediaPolicy(allowed_domains=("localhost",)), "media_not_allowed")
    assert "non-public address" in message
    assert load_media(url, MediaPolicy(allowed_domains=("localhost", "127.0.0.1", "::1")), WHERE).data


def test_redirects_are_checked_against_the_allow_list(http: str) -> None:
    allowed = MediaPolicy(allowed_domains=("127.0.0.1",))
    assert load_media(f"{http}/redirect?to={http}/lesion.png", allowed, WHERE).data == png()
    outside = f"{http}/redirect?to=http://example.org/x.png"
    assert "example.org" in refused(outside, allowed, "media_not_allowed")
    refused(f"{http}/redirect?to={http}/redirect?to={http}/lesion.png",
            MediaPolicy(allowed_domains=("127.0.0.1",), max_redirects=1), "media_fetch_failed")


def test_size_and_time_limits(http: str) -> None:
    small = MediaPolicy(allowed_domains=("127.0.0.1",), max_bytes=1000)
    assert "--max-media-bytes" in refused(f"{http}/big.bin", small, "media_too_large")
    refused(data_url(b"y" * 2000, "image/png"), small, "media_too_large")
    slow = MediaPolicy(allowed_domains=("127.0.0.1",), timeout=0.5)
    assert "--media-timeout" in refused(f"{http}/slow", slow, "media_fetch_failed")
    refused(f"{http}/missing.png", MediaPolicy(allowed_domains=("127.0.0.1",)), "media_fetch_failed")


def test_local_files_only_inside_the_allowed_folder(folder: Path, tmp_path: Path) -> None:
    url = (folder / "lesion.png").as_uri()
    assert "--allowed-local-media-path" in refused(url, MediaPolicy(), "media_not_allowed")
    inside = MediaPolicy(allowed_local_path=folder)
    assert load_media(url, inside, WHERE).data == png()
    (tmp_path / "secret.png").write_bytes(png())
    refused((tmp_path / "secret.png").as_uri(), inside, "media_not_allowed")
    refused(f"file://{folder}/../{tmp_path.name}/secret.png", inside, "media_not_allowed")
    (folder / "link.png").symlink_to(tmp_path / "secret.png")
    refused((folder / "link.png").as_uri(), inside, "media_not_allowed")
    refused((folder / "nothing.png").as_uri(), inside, "invalid_media_url")


def decode_refused(data: bytes, code: str, policy: MediaPolicy = MediaPolicy()) -> str:
    with pytest.raises(BadRequest) as info:
        decode_image(data, policy, WHERE)
    assert info.value.param == WHERE and info.value.code == code, info.value.message
    return info.value.message


def test_images_decode_and_bad_ones_are_refused() -> None:
    from PIL import Image

    assert decode_image(png(), MediaPolicy(), WHERE).size == (448, 336)
    decode_refused(b"not an image at all", "invalid_media")
    decode_refused(png()[:300], "invalid_media")  # truncated
    icon = io.BytesIO()
    Image.new("RGB", (8, 8)).save(icon, "ICO")
    assert "unsupported image format ICO" in decode_refused(icon.getvalue(), "invalid_media")
    tiny = MediaPolicy(max_image_pixels=1000)
    assert "--max-image-pixels" in decode_refused(png(), "media_too_large", tiny)


def video_refused(data: bytes, code: str, policy: MediaPolicy = MediaPolicy(), **sampling) -> str:
    with pytest.raises(BadRequest) as info:
        decode_video(data, policy, WHERE, FrameSampling(**sampling), FrameDefaults())
    assert info.value.param == WHERE and info.value.code == code, info.value.message
    return info.value.message


def test_videos_decode_the_chosen_frames() -> None:
    clip = decode_video(mp4(), MediaPolicy(), WHERE, FrameSampling(), FrameDefaults())
    # 24 frames at 8 fps = 3 s; 2 frames per second -> 6 frames, evenly spaced.
    assert clip.total_frames == 24 and clip.fps == 8 and clip.indices == [0, 5, 9, 14, 18, 23]
    assert clip.frames.shape == (6, 240, 320, 3)
    # The bar grows with the frame index, so the chosen frames are the right ones.
    assert clip.frames[0, 0, :8].mean() > 200 and clip.frames[0, 0, 40:].mean() < 50
    assert clip.frames[-1].mean() > 200


def test_bad_videos_are_refused() -> None:
    data = mp4()
    video_refused(b"\x00" * 100, "invalid_media")
    video_refused(data[: len(data) // 2], "invalid_media")  # truncated: the index is at the end
    video_refused(png(), "invalid_media")  # an image is not a video
    many = video_refused(data, "too_many_frames", MediaPolicy(max_video_frames=16), do_sample_frames=False)
    assert "24 frames" in many and "--max-video-frames" in many
    video_refused(data, "media_too_large", MediaPolicy(max_image_pixels=1000))


def test_frame_choice_follows_vllm() -> None:
    d = FrameDefaults()
    assert frame_indices(24, 8, FrameSampling(), d) == [0, 5, 9, 14, 18, 23]
    assert frame_indices(24, 8, FrameSampling(fps=1), d) == [0, 8, 15, 23]  # 3 -> min_frames 4
    assert frame_indices(24, 8, FrameSampling(fps=8), d) == list(range(24))
    assert frame_indices(24, 8, FrameSampling(num_frames=3), d) == [0, 12, 23]
    assert frame_indices(24, 8, FrameSampling(do_sample_frames=False), d) == list(range(24))
    # max_frames caps fps sampling: 100 s at 30 fps is 768 frames, not 3,000.
    assert len(frame_indices(3000, 30, FrameSampling(fps=30), d)) == 768


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"fps": 0}, "mm_processor_kwargs.fps"),
        ({"fps": -2}, "mm_processor_kwargs.fps"),
        ({"fps": "2"}, "mm_processor_kwargs.fps"),
        ({"num_frames": 0}, "mm_processor_kwargs.num_frames"),
        ({"do_sample_frames": "yes"}, "mm_processor_kwargs.do_sample_frames"),
        ({"fps": 2, "num_frames": 8}, "mm_processor_kwargs"),
    ],
)
def test_bad_sampling_kwargs_name_the_field(kwargs: dict, param: str) -> None:
    with pytest.raises(BadRequest) as info:
        FrameSampling.from_kwargs(kwargs)
    assert info.value.param == param


def test_collect_media_counts_items_and_names_parts() -> None:
    image = {"type": "image_url", "image_url": {"url": data_url(png(), "image/png")}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "x"}, image, image]}]
    media = collect_media(messages, MediaPolicy())
    assert [i.where for i in media.items] == ["messages[0].content[1]", "messages[0].content[2]"]
    with pytest.raises(BadRequest) as info:
        collect_media(messages, MediaPolicy(max_items={"image": 1, "video": 1}))
    assert info.value.param == "messages[0].content[2]" and info.value.code == "too_many_media_items"
    audio = [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]
    with pytest.raises(BadRequest) as info:
        collect_media(audio, MediaPolicy())
    assert info.value.param == "messages[0].content[0]"
    server_default = collect_media(messages, MediaPolicy(processor_kwargs={"fps": 1}), {"num_frames": None})
    assert server_default.sampling.fps == 1.0
