"""Serve speed of a trained model: the safetensors export on transformers vs its GGUF on llama.cpp.

The CPU recipe end to end: `galen train sft cpu-smollm2-sft` (SmolLM2-135M, LoRA), then `galen
train export RUN --gguf q8_0` (and q4_k_m), then `galen serve --model` on each file, one server
after the other (never two at once: on 2 cores they slow each other down). Each server answers
the same chat requests one at a time, greedy, with thinking on (the export's default) and
`max_tokens` fixed; what is timed, over HTTP with the `openai` client streaming:

- decode tok/s: completion tokens after the first, over the time from the first token to the last;
- time to first token, and end-to-end tok/s (completion tokens over the whole request).

The issue's target: the GGUF serves at >= 5x the safetensors export's decode tok/s.

    .venv/bin/python benchmarks/export_gguf.py                    # full recipe (27 steps), table + docs
    .venv/bin/python benchmarks/export_gguf.py --run runs/cpu-smollm2-sft   # an existing run
    .venv/bin/python benchmarks/export_gguf.py --steps 1 --requests 1 --max-tokens 8 --no-write  # smoke
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine_lines, markdown_table, write_section

from galen.testing.server import start_server, stop_server

QUESTIONS = (
    "A 54-year-old man has crushing chest pain for 40 minutes. What is the first investigation?",
    "Name two causes of hyperkalaemia.",
    "What is the first-line treatment of anaphylaxis in adults?",
    "Which vitamin deficiency causes Wernicke encephalopathy?",
)


def galen(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "galen.cli.main", *args], check=True)


def train_and_export(run: Path | None, steps: int | None, work: Path) -> Path:
    if run is None:
        run = work / "sft"
        extra = ["--set", f"trl.max_steps={steps}"] if steps else []
        galen("train", "sft", "cpu-smollm2-sft", *extra, "--output-dir", str(run))
    for quant in ("q8_0", "q4_k_m"):
        galen("train", "export", str(run), "--gguf", quant)
    return run


def one_request(client: object, question: str, max_tokens: int) -> tuple[float, float, int]:
    """(seconds to the first token, seconds from first to last, completion tokens)."""
    started = time.perf_counter()
    first = last = None
    tokens = 0
    stream = client.chat.completions.create(  # type: ignore[attr-defined]
        model="m", messages=[{"role": "user", "content": question}], max_tokens=max_tokens,
        temperature=0, stream=True, stream_options={"include_usage": True},
    )  # fmt: skip
    for chunk in stream:
        now = time.perf_counter()
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta and (delta.content or getattr(delta, "reasoning_content", None)):
            first = first or now
            last = now
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
    assert first is not None and last is not None, "no token streamed"
    return first - started, last - first, tokens


def measure(model: Path, args: argparse.Namespace, work: Path) -> list[str]:
    from openai import OpenAI

    server = start_server(
        ["--model", str(model), "--served-model-name", "m", "--threads", str(args.threads),
         "--parallel", "1", "--context-length", "1024"], work / f"serve-{model.name}.log", timeout=600,
    )  # fmt: skip
    try:
        client = OpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=0, timeout=600)
        one_request(client, QUESTIONS[0], 4)  # warm-up
        questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.requests)]
        runs = [one_request(client, question, args.max_tokens) for question in questions]
    finally:
        stop_server(server)
    decode = [(t - 1) / span for _, span, t in runs if span > 0 and t > 1]
    ttft = statistics.median(r[0] for r in runs)
    whole = statistics.median(t / (f + s) for f, s, t in runs)
    rate = statistics.median(decode) if decode else float("nan")
    return [model.name, f"{rate:.1f}", f"{1000 * ttft:.0f}", f"{whole:.1f}", str(sum(r[2] for r in runs))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="An existing SFT run folder (default: train one).")
    parser.add_argument("--steps", type=int, help="trl.max_steps for the SFT run (default: the recipe's).")
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="galen-bench-") as tmp:
        work = Path(tmp)
        run = train_and_export(args.run, args.steps, work)
        models = [run / "export", *sorted(run.glob("export-*/*.gguf"))]
        rows = [measure(model, args, work) for model in models]
    base = float(rows[0][1])
    for row in rows:
        row.append(f"{float(row[1]) / base:.1f}x")
    header = ["model", "decode tok/s", "TTFT ms", "end-to-end tok/s", "tokens", "vs safetensors"]
    table = markdown_table(header, rows)
    print(table)
    if args.write:
        note = (
            f"`benchmarks/export_gguf.py`: the CPU SFT recipe's run ({run.name}), served one server at a "
            f"time with {args.threads} threads, {args.requests} greedy chat requests of {args.max_tokens} "
            "tokens each, one at a time, over HTTP (medians). The safetensors export runs on transformers "
            "(float32), the GGUFs on llama.cpp. Target: GGUF >= 5x the safetensors decode rate."
        )
        body = "\n".join([*machine_lines(["torch", "transformers", "xllamacpp"]), "", note, "", table])
        write_section("Trained model served: safetensors export vs GGUF (issue 17)", body)


if __name__ == "__main__":
    main()
