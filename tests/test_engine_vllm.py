"""`--engine vllm`: the child process gets a free port and a random key of its own.

vLLM needs a GPU, so a stand-in `vllm` on PATH answers for it: a shell script that runs
`galen serve` on the port it is given, requiring the key vLLM would read from VLLM_API_KEY.
Everything on galen's side (port choice, key, health wait, the engine, closing) is the real code.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import httpx
import pytest

from galen.engine.base import GenerationRequest
from galen.engine.sampling import SamplingParams
from galen.engine.vllm import VLLMLaunch, launch_vllm
from galen.errors import ModelLoadError

# `vllm serve MODEL --host H --port P ...`: $6 is the port.
STAND_IN = """#!/bin/sh
GALEN_API_KEY="$VLLM_API_KEY" exec {python} -m galen.cli.main serve --port "$6" \\
  --parallel 1 --context-length 256 --served-model-name "$2"
"""


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch) -> Path:
    script = tmp_path / "bin" / "vllm"
    script.parent.mkdir()
    script.write_text(STAND_IN.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return script


def test_the_vllm_child_has_its_own_port_and_key(fake_vllm):
    first = launch_vllm(VLLMLaunch("smollm2"), timeout=120)
    second = launch_vllm(VLLMLaunch("smollm2"), timeout=120)
    try:
        assert first.base_url != second.base_url  # two galen servers on one machine do not collide
        assert not first.base_url.endswith(":8100/v1")
        # The key is in the child's environment, never on its command line (`ps` shows that).
        cmdline = Path(f"/proc/{first.process.pid}/cmdline").read_bytes().decode()
        assert "--api-key" not in cmdline
        anonymous = httpx.get(f"{first.base_url}/models", timeout=10)
        assert anonymous.status_code == 401  # a local user cannot reach the model around galen
        answer = first.generate(GenerationRequest("The kidney", SamplingParams(max_tokens=3)))
        assert answer.completion_tokens == 3
    finally:
        first.close()
        second.close()
    assert first.process.poll() is not None and second.process.poll() is not None


def test_a_child_that_dies_is_a_load_error(tmp_path, monkeypatch):
    script = tmp_path / "vllm"
    script.write_text("#!/bin/sh\nexit 3\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(ModelLoadError, match="exited with code 3"):
        launch_vllm(VLLMLaunch("smollm2"), timeout=30)
