"""Pick and start an engine by name; heavy backends are imported only when chosen."""

from __future__ import annotations

from dataclasses import dataclass, field

from galen.engine.base import Engine
from galen.engine.vllm_media import VLLMMediaFlags
from galen.errors import ModelLoadError
from galen.models.source import ModelSource

ENGINES = ("auto", "llama.cpp", "transformers", "remote", "vllm")
DTYPES = ("auto", "float32", "bfloat16", "float16")  # --dtype of the transformers engine


@dataclass
class EngineOptions:
    context_length: int | None = None
    parallel: int = 8
    threads: int | None = None
    api_key: str | None = None  # for a remote engine
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    yarn_factor: float | None = None
    mtp_tokens: int = 0
    vllm_port: int | None = None  # None: a free port
    vllm_media: VLLMMediaFlags = field(default_factory=VLLMMediaFlags)
    device: str = "auto"  # transformers: auto (a GPU when torch sees one), cpu, cuda, cuda:N
    dtype: str = "auto"  # transformers: auto (the checkpoint's), float32, bfloat16, float16
    # Results that do not depend on other requests: llama.cpp with one slot and no prompt
    # cache, transformers without prefix sharing across contexts (see docs/eval.md).
    deterministic: bool = False


def _auto(source: ModelSource) -> str:
    return {"gguf": "llama.cpp", "hf": "transformers", "remote": "remote"}[source.kind]


def _context(source: ModelSource, options: EngineOptions, cap: int) -> int:
    return options.context_length or min(source.context_length or cap, cap)


def load_engine(source: ModelSource, name: str = "auto", options: EngineOptions | None = None) -> Engine:
    """Start the engine `name` for `source` (see ENGINES)."""
    options = options or EngineOptions()
    name = _auto(source) if name == "auto" else name
    if name != "transformers" and (options.device, options.dtype) != ("auto", "auto"):
        raise ModelLoadError(f"--device and --dtype apply to the transformers engine, not {name}")
    if name == "llama.cpp":
        if source.kind != "gguf":
            raise ModelLoadError(f"llama.cpp needs a GGUF file; {source.location} is a {source.kind} model")
        from galen.engine.llamacpp import LlamaCppEngine

        return LlamaCppEngine(
            source.location,
            model_id=source.model_id,
            context_length=_context(source, options, 8192),
            parallel=1 if options.deterministic else options.parallel,
            threads=options.threads,
            cache_prompt=not options.deterministic,
        )
    if name == "transformers":
        return _transformers(source, options)
    if name == "remote":
        from galen.engine.remote import RemoteEngine

        return RemoteEngine(source.location, api_key=options.api_key, context_length=options.context_length)
    if name == "vllm":
        return _vllm(source, options)
    raise ModelLoadError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")


def _transformers(source: ModelSource, options: EngineOptions) -> Engine:
    from pathlib import Path

    from galen.engine.transformers import TransformersEngine

    if options.threads:
        import torch

        torch.set_num_threads(options.threads)
    path = Path(source.location)
    common = {"device": options.device, "dtype": options.dtype, "deterministic": options.deterministic}
    if source.kind == "gguf":
        return TransformersEngine(
            path.parent,
            gguf_file=path.name,
            model_id=source.model_id,
            context_length=_context(source, options, 8192),
            **common,
        )
    return TransformersEngine(
        path, model_id=source.model_id, context_length=_context(source, options, 32768), **common
    )


def _vllm(source: ModelSource, options: EngineOptions) -> Engine:
    from galen.engine.vllm import VLLMLaunch, launch_vllm

    launch = VLLMLaunch(
        model=source.location,
        port=options.vllm_port,
        tensor_parallel=options.tensor_parallel,
        pipeline_parallel=options.pipeline_parallel,
        max_model_len=options.context_length,
        yarn_factor=options.yarn_factor,
        mtp_tokens=options.mtp_tokens,
        served_name=source.model_id,
        media=options.vllm_media,
        rope=source.profile.rope,
    )
    return launch_vllm(launch)
