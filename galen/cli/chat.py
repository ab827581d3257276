"""`galen chat`: a small terminal client for any OpenAI-compatible server (galen's by default).

Answers stream as they are generated; reasoning is shown dimmed, above the answer. `--image` and
`--video` attach local files to the first message, sent inline as data: URLs. The server is
reached through galen's one client (`galen.engine.endpoint`): key, model choice, retries.
"""

from __future__ import annotations

import base64
import mimetypes
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from galen import RESEARCH_NOTICE

console = Console(highlight=False)


def _stream_reply(
    client: Any, model: str, messages: list[dict[str, Any]], extra: dict[str, Any], max_tokens: int | None
) -> dict:
    reasoning, content = [], []
    stream = client.chat.completions.create(
        model=model, messages=messages, stream=True, max_tokens=max_tokens, extra_body=extra
    )
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        piece = getattr(delta, "reasoning_content", None) or (delta.model_extra or {}).get(
            "reasoning_content"
        )
        if piece:
            reasoning.append(piece)
            console.print(piece, style="dim", end="")
        if delta.content:
            if reasoning and not content:
                console.print()
            content.append(delta.content)
            console.print(delta.content, end="")
    console.print()
    return {"role": "assistant", "content": "".join(content), "reasoning_content": "".join(reasoning)}


def _attachment(path: Path, kind: str) -> dict[str, Any]:
    """An image_url or video_url content part holding the file as a data: URL."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        console.print(f"[red]error:[/red] cannot read --{kind} {path}: {exc.strerror}")
        raise typer.Exit(2) from None
    mime = mimetypes.guess_type(path.name)[0] or ("image/png" if kind == "image" else "video/mp4")
    field = f"{kind}_url"
    return {"type": field, field: {"url": f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"}}


def _user_content(text: str, attachments: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Plain text, or the attachments then the text as content parts (the card's order)."""
    return [*attachments, {"type": "text", "text": text}] if attachments else text


def chat(
    message: Annotated[
        str | None, typer.Argument(help="Ask one question and exit; omit for a session.")
    ] = None,
    base_url: Annotated[str, typer.Option(envvar="OPENAI_BASE_URL")] = "http://127.0.0.1:8000/v1",
    api_key: Annotated[str | None, typer.Option(help="Key (default: $OPENAI_API_KEY).")] = None,
    model: Annotated[str | None, typer.Option(help="Model id (default: the server's first).")] = None,
    think: Annotated[bool | None, typer.Option("--think/--no-think", help="Thinking on or off.")] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Longest answer, in tokens.")] = None,
    image: Annotated[
        list[Path] | None, typer.Option(help="Attach an image file to the first message (repeatable).")
    ] = None,
    video: Annotated[
        list[Path] | None, typer.Option(help="Attach a video file to the first message (repeatable).")
    ] = None,
) -> None:
    """Chat with a served model in the terminal."""
    from openai import OpenAIError

    from galen.engine.endpoint import EndpointClient
    from galen.errors import GalenError

    attachments = [_attachment(p, "image") for p in image or ()]
    attachments += [_attachment(p, "video") for p in video or ()]
    extra = {} if think is None else {"chat_template_kwargs": {"enable_thinking": think}}
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    try:
        client = EndpointClient(base_url, model, api_key, max_retries=2)
        console.print(f"[yellow]{RESEARCH_NOTICE}[/yellow]", style="dim")
        while True:
            text = message if message is not None else _ask()
            if text is None:
                return
            messages.append({"role": "user", "content": _user_content(text, attachments)})
            attachments = []
            try:
                messages.append(_stream_reply(client.sync, client.model, messages, extra, max_tokens))
            except OpenAIError as exc:
                raise client.error(exc) from None
            if message is not None:
                return
    except GalenError as exc:
        console.print(f"[red]error:[/red] {exc.message}", soft_wrap=True)
        raise typer.Exit(2) from None


def _ask() -> str | None:
    try:
        text = console.input("[bold cyan]you>[/bold cyan] ")
    except (EOFError, KeyboardInterrupt):
        console.print()
        return None
    return None if text.strip() in ("/exit", "/quit") else text


if __name__ == "__main__":
    sys.exit(typer.run(chat))
