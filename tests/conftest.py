"""Shared fixtures: real `galen serve` processes on free loopback ports (`galen.testing.server`),
and the embedded model.

No engine is stubbed: servers run the embedded SmolLM2 through llama.cpp, as a user gets it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from galen.testing.server import RunningServer, free_port, start_server, stop_server, stop_servers

__all__ = ["SHARED", "RunningServer", "free_port", "needs_shared", "start_server", "stop_server"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RunningServer]]:
    started: list[RunningServer] = []

    def make(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> RunningServer:
        log = tmp_path_factory.mktemp("serve") / "server.log"
        server = start_server(list(args), log, env, timeout=timeout)
        started.append(server)
        return server

    yield make
    stop_servers(started)  # all at once: a dozen servers each take a second or more to stop


@pytest.fixture(scope="session")
def server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    """The embedded default as `make serve` starts it, with 4 slots and a 1,024-token window so
    that a request without max_tokens (the card's snippets) ends within seconds."""
    return server_factory("--parallel", "4", "--context-length", "1024")


@pytest.fixture(scope="session")
def gemma(server_factory: Callable[..., RunningServer]) -> RunningServer:
    """Gemma 3 270M (base) through llama.cpp with galen's Gemma 3 template."""
    return server_factory("--model", "gemma3-270m", "--parallel", "1")


@pytest.fixture(scope="session")
def client(server: RunningServer):
    from openai import OpenAI

    return OpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=0, timeout=120)


@pytest.fixture(scope="session")
def smollm2_engine():
    from galen.engine.llamacpp import LlamaCppEngine
    from galen.models.embedded import smollm2_path

    engine = LlamaCppEngine(smollm2_path(), context_length=2048, parallel=2)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def smollm2_hf():
    """SmolLM2's shipped Q4_1 GGUF on the transformers engine, in float32. transformers
    de-quantises every tensor as it loads (~20 s), so the engine tests share this one."""
    from galen.engine.transformers import TransformersEngine
    from galen.models.embedded import smollm2_shipped_path

    engine = TransformersEngine(smollm2_shipped_path(), model_id="smollm2", dtype="float32")
    yield engine
    engine.close()


def needs_shared() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not SHARED.exists(), reason=f"real benchmark data not found at {SHARED}")


@pytest.fixture(scope="session")
def tiny_qwen_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A galen cache holding the tiny Qwen3.6 vision-language model, built once per session
    (about 10 s) and shared by the engine tests and the Qwen server."""
    cache = tmp_path_factory.mktemp("galen-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALEN_CACHE", str(cache))
        from galen.models.qwen import tiny_qwen_path

        tiny_qwen_path()
    return cache


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the Qwen server may read file:// media from."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def qwen_server(
    server_factory: Callable[..., RunningServer], tiny_qwen_cache: Path, media_dir: Path
) -> RunningServer:
    """`galen serve --model tiny-qwen3.6` on transformers, taking images and video from data:
    URLs, the loopback address and `media_dir`, with a 16-frame video limit. It also answers to
    the card's model name, and its 768-token window ends the card's snippets (max_tokens=81920)
    within seconds."""
    return server_factory(
        "--model", "tiny-qwen3.6", "--threads", "1", "--context-length", "768",
        "--served-model-name", "EpistemeAI/Reasoning-Medical-27B",
        "--allowed-media-domains", "127.0.0.1", "--allowed-local-media-path", str(media_dir),
        "--max-video-frames", "16",
        env={"GALEN_CACHE": str(tiny_qwen_cache)},
    )  # fmt: skip


@pytest.fixture(scope="session")
def agent_server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    """The embedded default as `make serve` starts it (so it answers to the card's model name),
    with SmolLM2's whole 8,192-token window: an MCP server's tool list alone can take thousands
    of tokens of prompt. Used by the agent tests."""
    return server_factory("--parallel", "2", "--context-length", "8192")


KEYED_HF_KEY = "k3y-hf-test-secret"


@pytest.fixture(scope="session")
def keyed_hf(server_factory: Callable[..., RunningServer]) -> RunningServer:
    """The shipped SmolLM2 GGUF on the transformers engine (float32 on the CPU, the same numbers
    as `--mode loglik` in process), behind an API key, answering to two served names: the
    server that returns prompt log-probabilities (`echo` with `logprobs`)."""
    return server_factory(
        "--model", "smollm2-q4_1", "--engine", "transformers", "--threads", "1", "--context-length", "1024",
        "--api-key", KEYED_HF_KEY, "--served-model-name", "med-a", "--served-model-name", "med-b",
        timeout=300,  # transformers dequantises the GGUF at start-up: slower than llama.cpp
    )  # fmt: skip


# `galen eval run` arguments: the shipped SmolLM2 GGUF, loaded by the eval process itself (no
# server), in log-likelihood mode.
LOGLIK_LOCAL = ("--model", "smollm2-q4_1", "--tasks", "medqa,pubmedqa", "--mode", "loglik", "--limit", "3")


@pytest.fixture(scope="session")
def loglik_local_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """(its output folder, the finished process) of `galen eval run LOGLIK_LOCAL` in its own
    process, run once: test_evals_loglik checks and resumes it, test_evals_endpoint_loglik holds
    the keyed server's log-likelihoods against it. Loading the GGUF on transformers takes ~20 s."""
    out = tmp_path_factory.mktemp("loglik-local") / "run"
    command = [sys.executable, "-m", "galen.cli.main", "eval", "run", *LOGLIK_LOCAL, "--output", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return out, subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
