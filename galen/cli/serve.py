"""`galen serve`: the OpenAI-compatible server over any engine."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Annotated

import typer
from rich.console import Console

from galen import RESEARCH_NOTICE
from galen.cli import serve_media as media
from galen.engine.registry import DTYPES, ENGINES, EngineOptions, load_engine
from galen.engine.sampling import PRESETS
from galen.errors import GalenError
from galen.models.embedded import DEFAULT_ALIASES, DEFAULT_MODEL, DEFAULT_TEMPLATE
from galen.models.source import resolve
from galen.serve.state import ServeSettings

console = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def _check(engine: str, preset: str | None, dtype: str) -> None:
    if engine not in ENGINES:
        raise _fail(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if preset is not None and preset not in PRESETS:
        raise _fail(f"--preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    if dtype not in DTYPES:
        raise _fail(f"--dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")


def serve(
    model: Annotated[
        str | None, typer.Option(help="GGUF file, HF folder, hub id, http(s) URL or embedded name.")
    ] = None,
    engine: Annotated[str, typer.Option(help=f"One of: {', '.join(ENGINES)}.")] = "auto",
    host: Annotated[
        str, typer.Option(help="Address to bind; loopback unless you mean otherwise.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    api_key: Annotated[
        str | None, typer.Option(envvar="GALEN_API_KEY", help="Require this bearer key.")
    ] = None,
    served_model_name: Annotated[
        list[str] | None, typer.Option(help="Extra names the model answers to.")
    ] = None,
    chat_template: Annotated[
        str | None, typer.Option(help="Template file, or a shipped one: qwen3_6, gemma3, chatml_think.")
    ] = None,
    family: Annotated[str | None, typer.Option(help="Model family profile (default: detected).")] = None,
    preset: Annotated[
        str | None, typer.Option(help=f"Default sampling preset: {', '.join(PRESETS)}.")
    ] = None,
    context_length: Annotated[int | None, typer.Option(min=16, help="Context window in tokens.")] = None,
    parallel: Annotated[
        int, typer.Option(min=1, max=256, help="Concurrent generations (llama.cpp slots).")
    ] = 8,
    threads: Annotated[int | None, typer.Option(min=1, help="CPU threads for llama.cpp.")] = None,
    device: Annotated[
        str, typer.Option(help="transformers engine: auto (a GPU if torch sees one), cpu, cuda, cuda:N.")
    ] = "auto",
    dtype: Annotated[
        str, typer.Option(help="transformers engine: auto (the checkpoint's), float32, bfloat16, float16.")
    ] = "auto",
    max_queue: Annotated[
        int, typer.Option(min=0, help="Choices waiting for a slot before 429.")
    ] = 64,
    max_choices: Annotated[
        int, typer.Option(min=1, help="Most choices (prompts x n) in one request; more is a 400.")
    ] = 64,
    max_stored_responses: Annotated[
        int, typer.Option(min=0, help="Responses kept for previous_response_id (0: none).")
    ] = 1024,
    max_body_bytes: Annotated[
        int, typer.Option(min=1024, help="Largest request body; more is a 413, sent before reading it.")
    ] = 32 * 2**20,
    shutdown_timeout: Annotated[
        float, typer.Option(min=0, help="Seconds in-flight work may finish after SIGTERM.")
    ] = 20.0,
    tensor_parallel: Annotated[int, typer.Option(min=1, help="vLLM --tensor-parallel-size.")] = 1,
    pipeline_parallel: Annotated[int, typer.Option(min=1, help="vLLM --pipeline-parallel-size.")] = 1,
    yarn_factor: Annotated[
        float | None, typer.Option(help="vLLM YaRN factor, e.g. 4.0 for ~1M tokens.")
    ] = None,
    mtp_tokens: Annotated[int, typer.Option(min=0, help="vLLM MTP speculative tokens (0 = off).")] = 0,
    log_content: Annotated[bool, typer.Option(help="Log prompts and completions (off by default).")] = False,
    ui: Annotated[bool, typer.Option("--ui/--no-ui", help="Serve the web playground at /.")] = True,
    allowed_media_domains: media.AllowedMediaDomains = None,
    allowed_local_media_path: media.AllowedLocalMediaPath = None,
    limit_mm_per_prompt: media.LimitMmPerPrompt = None,
    max_media_bytes: media.MaxMediaBytes = 32 * 2**20,
    max_image_pixels: media.MaxImagePixels = 4096 * 4096,
    max_video_frames: media.MaxVideoFrames = 768,
    media_timeout: media.MediaTimeout = 10.0,
    mm_processor_kwargs: media.MmProcessorKwargs = None,
    media_io_kwargs: media.MediaIoKwargs = None,
    language_model_only: media.LanguageModelOnly = False,
) -> None:
    """Serve a model through the OpenAI Chat Completions API."""
    from galen.engine.chat import ChatEngine
    from galen.serve.app import create_app
    from galen.serve.shutdown import serve as serve_until_stopped
    from galen.serve.state import ServerState

    _check(engine, preset, dtype)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    embedded_default = model is None
    try:
        policy = media.media_policy(
            allowed_media_domains, allowed_local_media_path, limit_mm_per_prompt, max_media_bytes,
            max_image_pixels, max_video_frames, media_timeout, mm_processor_kwargs,
        )
        vllm_media = media.vllm_media_flags(policy, media_io_kwargs, language_model_only)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    options = EngineOptions(
        context_length=context_length,
        parallel=parallel,
        threads=threads,
        tensor_parallel=tensor_parallel,
        pipeline_parallel=pipeline_parallel,
        yarn_factor=yarn_factor,
        mtp_tokens=mtp_tokens,
        api_key=os.environ.get("GALEN_REMOTE_API_KEY"),
        vllm_media=vllm_media,
        device=device,
        dtype=dtype,
    )
    try:
        source = resolve(
            model or DEFAULT_MODEL,
            chat_template=chat_template or (DEFAULT_TEMPLATE if embedded_default else None),
            family=family,
        )
        if language_model_only:
            source = replace(source, vision=False)
        chat = ChatEngine(load_engine(source, engine, options), source, policy)
    except GalenError as exc:
        raise _fail(exc.message) from None
    aliases = tuple(served_model_name or ()) + (DEFAULT_ALIASES if embedded_default else ())
    settings = ServeSettings(
        host=host,
        port=port,
        api_key=api_key,
        default_preset=preset,
        max_queue=max_queue,
        max_choices=max_choices,
        max_body_bytes=max_body_bytes,
        max_stored_responses=max_stored_responses,
        shutdown_timeout=shutdown_timeout,
        aliases=aliases,
        log_content=log_content,
        ui=ui,
    )
    console.print(
        f"[bold]galen[/bold] serving {source.model_id} ({source.profile.family}, "
        f"{chat.engine.info.name}) on http://{host}:{port}/v1"
    )
    if ui:
        console.print(f"playground: http://{host}:{port}/")
    console.print(f"[yellow]{RESEARCH_NOTICE}[/yellow]")
    state = ServerState(chat, settings)
    serve_until_stopped(create_app(state), state.limiter, host, port, shutdown_timeout)
