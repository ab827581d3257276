"""Start `vllm serve` for a model and use it as a remote engine (GPUs and clusters).

galen keeps the chat layer; vLLM only runs tokens through `/v1/completions`. The flags follow
the Reasoning-Medical-27B card: tensor / pipeline parallelism, YaRN through `--hf-overrides`
for contexts past 262,144 tokens, and multi-token-prediction (MTP) speculative decoding.

The child listens on a free loopback port (two galen servers on one machine never collide) and
requires a random API key of its own, passed in its environment (`VLLM_API_KEY`, so it never
shows in `ps`): no other local user can reach the model around galen's `--api-key`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from galen.engine.remote import RemoteEngine
from galen.engine.vllm_media import VLLMMediaFlags
from galen.errors import ModelLoadError
from galen.models.families import QWEN3_6_ROPE
from galen.models.profile import RopeScaling

NATIVE_CONTEXT = QWEN3_6_ROPE.native_context  # Qwen3.6's trained window; YaRN stretches it


@dataclass
class VLLMLaunch:
    """What `galen serve --engine vllm` asks of vLLM; `command()` is the exact command line."""

    model: str
    host: str = "127.0.0.1"
    port: int | None = None  # None: a free port, chosen at launch
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    max_model_len: int | None = None
    yarn_factor: float | None = None
    mtp_tokens: int = 0
    gpu_memory_utilization: float = 0.9
    served_name: str | None = None
    media: VLLMMediaFlags = field(default_factory=VLLMMediaFlags)
    extra_args: list[str] = field(default_factory=list)
    rope: RopeScaling | None = None  # the model family's (galen.models.profile)

    def hf_overrides(self) -> dict[str, Any] | None:
        if not self.yarn_factor:
            return None
        if self.rope is None:
            raise ModelLoadError("--yarn-factor: galen knows no YaRN rope settings for this model's family")
        return self.rope.overrides(self.yarn_factor)

    def command(self) -> list[str]:
        cmd = ["vllm", "serve", self.model, "--host", self.host, "--port", str(self.port)]
        cmd += ["--tensor-parallel-size", str(self.tensor_parallel)]
        cmd += ["--pipeline-parallel-size", str(self.pipeline_parallel)]
        cmd += ["--gpu-memory-utilization", str(self.gpu_memory_utilization)]
        if self.served_name:
            cmd += ["--served-model-name", self.served_name]
        if self.max_model_len:
            cmd += ["--max-model-len", str(self.max_model_len)]
        if overrides := self.hf_overrides():
            cmd += ["--hf-overrides", json.dumps(overrides)]
        if self.mtp_tokens:
            cmd += [
                "--speculative-config",
                json.dumps({"method": "mtp", "num_speculative_tokens": self.mtp_tokens}),
            ]
        return cmd + self.media.args() + self.extra_args

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        native = self.rope.native_context if self.rope else NATIVE_CONTEXT
        if self.max_model_len and self.max_model_len > native:
            env["VLLM_ALLOW_LONG_MAX_MODEL_LEN"] = "1"  # vLLM refuses a window past config.json's
        return env

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


def _wait_healthy(process: subprocess.Popen[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ModelLoadError(f"vllm serve exited with code {process.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise ModelLoadError(f"vllm serve was not healthy after {timeout:.0f}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def _free_port(host: str) -> int:
    # Another process may take the port before vLLM binds it; vLLM then exits and the launch
    # fails with a clear error rather than talking to the wrong server.
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class VLLMEngine(RemoteEngine):
    """A remote engine that owns the `vllm serve` process it talks to."""

    def __init__(self, launch: VLLMLaunch, process: subprocess.Popen[bytes], api_key: str) -> None:
        media = not launch.media.language_model_only
        super().__init__(
            launch.base_url, api_key=api_key, context_length=launch.max_model_len, supports_media=media
        )
        self.process = process

    def close(self) -> None:
        super().close()
        _stop(self.process)


def launch_vllm(launch: VLLMLaunch, timeout: float = 1800.0) -> VLLMEngine:
    """Start vLLM on a free port with a key of its own, wait until `/health` answers, connect."""
    if shutil.which("vllm") is None:
        raise ModelLoadError("`vllm` is not installed here; `pip install vllm` on the GPU machine")
    launch = replace(launch, port=launch.port or _free_port(launch.host))
    key = secrets.token_urlsafe(32)
    process = subprocess.Popen(launch.command(), env=launch.environment() | {"VLLM_API_KEY": key})
    try:
        _wait_healthy(process, f"http://{launch.host}:{launch.port}/health", timeout)
        return VLLMEngine(launch, process, key)
    except BaseException:
        _stop(process)
        raise
