"""Throughput of `galen serve` against plain llama.cpp (xllamacpp in-process, at its defaults) on the
very GGUF file galen serves, and where the difference goes.

The workload is the one issue 12 measured: chat questions "Explain in detail the pathophysiology
of disease number i you know about.", `max_tokens` 96, temperature 0.8, seed i, non-streamed,
N requests from C client threads at once, on the embedded SmolLM2-135M-Instruct (its Q8_0 copy,
the file `galen serve` loads). Throughput is completion tokens (from `usage`) / wall time.

Six ways to run it, one after the other (never two at once: on 2 cores two llama.cpp processes
slow each other 10-30x), each on a freshly started engine or server with `--parallel` slots:

  plain        xllamacpp.Server at its defaults (n_ctx 8192 shared by the slots, its own chat
               template and sampling defaults), `handle_chat_completions`: the peer.
  plain+work   the same server, fed galen's rendered prompt ids and galen's sampling (its chat
               template, the profile's preset, thinking off) through `handle_completions`: the
               same work as galen, without galen's code.
  plain+kv     as plain+work, with galen's KV layout (one stream of a full window per slot).
  in-process   galen's ChatEngine.complete on LlamaCppEngine from C threads: galen without HTTP.
  HTTP         `galen serve` over HTTP, non-streamed chat: what a client of galen gets.
  HTTP stream  the same, streamed; adds time to first token and inter-token latency.

Consecutive rows differ in one thing, so the ratios between them say where the time goes:
galen's choice of work (template, preset), the KV layout, the chat layer and engine wrapper,
HTTP. The target (issue 12): HTTP >= 0.95x plain at concurrency 8 and >= 0.90x at 32.

Each row is run `--repeat` times, rows interleaved, and the median is reported, since on a shared
machine tokens/s moves 5-10% from run to run. `--transformers` adds issue 2's baseline (plain
transformers `generate`, one request at a time and in batches of 8).

Run:  .venv/bin/python benchmarks/serve.py [--quick] [--repeat 3] [--parallel 8] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _common import machine_lines, markdown_table, percentile, write_section

from galen.engine.base import GenerationRequest
from galen.engine.chat import ChatEngine, ChatRequest
from galen.engine.llamacpp import LlamaCppEngine, _body
from galen.models.embedded import DEFAULT_TEMPLATE, smollm2_path, smollm2_shipped_path
from galen.models.source import resolve
from galen.testing.server import start_server, stop_server

SECTION = "galen serve vs plain llama.cpp (issues 2 and 12)"
MAX_TOKENS = 96
TEMPERATURE = 0.8
CONTEXT = 8192
LEVELS = {8: 48, 32: 96}  # concurrency -> requests
QUICK_LEVELS = {8: 8, 32: 32}
THREADS = os.cpu_count() or 1  # what galen serve and llama.cpp use by default
TARGETS = {8: 0.95, 32: 0.90}
PLAIN, WORK, KV, LOCAL, HTTP, STREAM = "plain", "plain+work", "plain+kv", "in-process", "HTTP", "HTTP stream"
STEPS = [
    (WORK, PLAIN, "galen's work: its chat template and sampling preset instead of llama.cpp's"),
    (KV, WORK, "galen's KV layout: one stream of a full window per slot"),
    (LOCAL, KV, "galen's chat layer and engine wrapper (Python per token, tokenize round trip)"),
    (HTTP, LOCAL, "HTTP: FastAPI, JSON, admission, the client"),
]


def messages(i: int) -> list[dict[str, str]]:
    return [
        {
            "role": "user",
            "content": f"Explain in detail the pathophysiology of disease number {i} you know about.",
        }
    ]


@dataclass
class Result:
    path: str
    concurrency: int
    requests: int = 0
    tokens: int = 0
    wall: float = 0.0
    ttft: list[float] = field(default_factory=list)
    itl: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def tok_s(self) -> float:
        return self.tokens / self.wall if self.wall else 0.0

    def add(self, tokens: int, stamps: list[float] | None = None, started: float = 0.0) -> None:
        with self.lock:
            self.requests += 1
            self.tokens += tokens
            if stamps:
                self.ttft.append(stamps[0] - started)
                self.itl.extend(b - a for a, b in zip(stamps, stamps[1:], strict=False))


def timed(path: str, concurrency: int, requests: int, one: Callable[[int, Result], None]) -> Result:
    one(0, Result("warm-up", 1))
    result, started = Result(path, concurrency), time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests), [result] * requests))
    result.wall = time.perf_counter() - started
    return result


# -- plain xllamacpp -------------------------------------------------------------------------


def plain_server(parallel: int, threads: int, n_ctx: int, unified: bool | None = None):
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(smollm2_path())
    params.n_ctx, params.n_parallel, params.verbosity = n_ctx, parallel, -1
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
    if unified is not None:
        params.kv_unified = unified
    return xllamacpp.Server(params)


def plain(concurrency: int, requests: int, parallel: int, threads: int) -> Result:
    server = plain_server(parallel, threads, CONTEXT)

    def one(i: int, result: Result) -> None:
        body = {"messages": messages(i), "max_tokens": MAX_TOKENS, "temperature": TEMPERATURE, "seed": i}
        result.add(server.handle_chat_completions(body)["usage"]["completion_tokens"])

    return timed(PLAIN, concurrency, requests, one)


def galen_work(requests: int) -> list[GenerationRequest]:
    """The engine requests galen makes for the workload: its rendered prompt ids and sampling."""
    source = resolve("smollm2", chat_template=DEFAULT_TEMPLATE)
    engine = LlamaCppEngine(source.location, context_length=CONTEXT, parallel=1, threads=1)
    chat = ChatEngine(engine, source)
    try:
        out = []
        for i in range(requests):
            request = ChatRequest(messages(i), enable_thinking=False)
            sampling = chat.default_sampling(False).updated(
                temperature=TEMPERATURE, seed=i, max_tokens=MAX_TOKENS
            )
            out.append(GenerationRequest(chat.render(request).ids, sampling))
        return out
    finally:
        engine.close()


def plain_work(
    concurrency: int, work: list[GenerationRequest], parallel: int, threads: int, kv: bool
) -> Result:
    # galen's layout: n_ctx = window x slots, one KV stream per slot (see LlamaCppEngine).
    server = plain_server(parallel, threads, CONTEXT * parallel if kv else CONTEXT, False if kv else None)

    def one(i: int, result: Result) -> None:
        result.add(server.handle_completions(_body(work[i], False))["usage"]["completion_tokens"])

    return timed(KV if kv else WORK, concurrency, len(work), one)


# -- galen ---------------------------------------------------------------------------------


def in_process(concurrency: int, requests: int, parallel: int, threads: int) -> Result:
    source = resolve("smollm2", chat_template=DEFAULT_TEMPLATE)
    engine = LlamaCppEngine(source.location, context_length=CONTEXT, parallel=parallel, threads=threads)
    chat = ChatEngine(engine, source)

    def one(i: int, result: Result) -> None:
        sampling = chat.default_sampling(False).updated(
            temperature=TEMPERATURE, seed=i, max_tokens=MAX_TOKENS
        )
        answer = chat.complete(ChatRequest(messages(i), sampling, enable_thinking=False))
        result.add(answer.completion_tokens)

    try:
        return timed(LOCAL, concurrency, requests, one)
    finally:
        engine.close()


def http(concurrency: int, requests: int, parallel: int, threads: int, stream: bool) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        args = ["--parallel", str(parallel), "--threads", str(threads), "--max-queue", "256"]
        server = start_server([*args, "--context-length", str(CONTEXT)], Path(tmp) / "serve.log", timeout=180)
        base_url = server.base_url
        client = httpx.Client(
            base_url=base_url, timeout=600, limits=httpx.Limits(max_connections=concurrency + 4)
        )

        def one(i: int, result: Result) -> None:
            body = {"messages": messages(i), "max_tokens": MAX_TOKENS, "temperature": TEMPERATURE, "seed": i}
            body["chat_template_kwargs"] = {"enable_thinking": False}
            if not stream:
                response = client.post("/chat/completions", json=body)
                response.raise_for_status()
                result.add(response.json()["usage"]["completion_tokens"])
                return
            stamps, tokens, started = [], 0, time.perf_counter()
            body |= {"stream": True, "stream_options": {"include_usage": True}}
            with client.stream("POST", "/chat/completions", json=body) as response:
                for line in response.iter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    event = json.loads(line[6:])
                    if "error" in event:
                        raise RuntimeError(event["error"])
                    if event.get("usage"):
                        tokens = event["usage"]["completion_tokens"]
                    if any((c.get("delta") or {}).get("content") for c in event.get("choices", [])):
                        stamps.append(time.perf_counter())
            result.add(tokens, stamps, started)

        try:
            return timed(STREAM if stream else HTTP, concurrency, requests, one)
        finally:
            client.close()
            stop_server(server)


# -- issue 2's baseline: transformers generate -----------------------------------------------


def transformers_runs(requests: int, batch: int, threads: int) -> list[Result]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = smollm2_shipped_path()
    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name, padding_side="left")
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name).eval()
    eos = model.generation_config.eos_token_id
    stops = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.eos_token_id}
    results = []
    for size in (1, batch):
        result = Result("transformers generate" + (f", batch {size}" if size > 1 else ""), size)
        started = time.perf_counter()
        for first in range(0, requests, size):
            texts = [
                tokenizer.apply_chat_template(messages(i), tokenize=False, add_generation_prompt=True)
                for i in range(first, min(first + size, requests))
            ]
            inputs = tokenizer(texts, return_tensors="pt", padding=True)
            with torch.inference_mode():
                out = model.generate(
                    **inputs, max_new_tokens=MAX_TOKENS, do_sample=False, pad_token_id=tokenizer.pad_token_id
                )
            for row in out[:, inputs["input_ids"].shape[1] :].tolist():  # tokens up to EOS, EOS counted
                result.add(next((k + 1 for k, t in enumerate(row) if t in stops), len(row)))
        result.wall = time.perf_counter() - started
        results.append(result)
    return results


# -- report ----------------------------------------------------------------------------------


def _pair(values: list[float]) -> str:
    p50, p95 = percentile(values, 50), percentile(values, 95)
    return "–" if p50 is None or p95 is None else f"{p50 * 1000:.0f} / {p95 * 1000:.0f}"


def median_runs(runs: list[Result]) -> Result:
    """The run with the median tokens/s (its latencies stay whole)."""
    return sorted(runs, key=lambda r: r.tok_s)[len(runs) // 2]


HEADER = [
    "path",
    "conc.",
    "requests",
    "tokens",
    "tok/s (median)",
    "runs tok/s",
    "vs plain",
    "TTFT p50 / p95 ms",
    "ITL p50 / p95 ms",
]


def table(runs: dict[tuple[str, int], list[Result]]) -> str:
    rows = []
    for (path, level), results in runs.items():
        best, plain_ = median_runs(results), runs.get((PLAIN, level))
        ratio = f"{best.tok_s / median_runs(plain_).tok_s:.2f}" if plain_ else "–"
        spread = ", ".join(f"{r.tok_s:.1f}" for r in results)
        rows.append(
            [
                path,
                str(level),
                str(best.requests),
                str(best.tokens),
                f"{best.tok_s:.1f}",
                spread,
                ratio,
                _pair(best.ttft),
                _pair(best.itl),
            ]
        )
    return markdown_table(HEADER, rows)


def verdicts(runs: dict[tuple[str, int], list[Result]]) -> list[str]:
    out = []
    for level, target in TARGETS.items():
        if (HTTP, level) not in runs:
            continue
        ratio = median_runs(runs[HTTP, level]).tok_s / median_runs(runs[PLAIN, level]).tok_s
        verdict = "met" if ratio >= target else "**missed**"
        out.append(
            f"- HTTP vs plain xllamacpp at concurrency {level}: {verdict}, **{ratio:.3f}** "
            f"(target >= {target:.2f})"
        )
    for level in TARGETS:
        if (HTTP, level) not in runs:
            continue
        steps = [
            f"{why}: {median_runs(runs[a, level]).tok_s / median_runs(runs[b, level]).tok_s:.2f}x"
            for a, b, why in STEPS
            if (a, level) in runs and (b, level) in runs
        ]
        out.append(f"- Where it goes at concurrency {level}: " + "; ".join(steps))
        if (WORK, level) in runs:
            # The same work on both sides: what galen's own code (all of it) costs.
            own = median_runs(runs[HTTP, level]).tok_s / median_runs(runs[WORK, level]).tok_s
            out.append(
                f"- galen's own code at concurrency {level} (HTTP vs plain+work, the same work): {own:.2f}x"
            )
        plain = [r.tok_s for r in runs[PLAIN, level]]
        if len(plain) > 1:
            out.append(
                f"- Run-to-run spread of plain alone at concurrency {level}: "
                f"{min(plain):.0f}-{max(plain):.0f} tok/s ({max(plain) / min(plain) - 1:.0%})"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few requests per level (smoke run)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each row, interleaved; the median counts"
    )
    parser.add_argument("--parallel", type=int, default=8, help="slots, for galen and plain xllamacpp alike")
    parser.add_argument("--threads", type=int, default=THREADS, help="llama.cpp threads, for both")
    parser.add_argument("--transformers", action="store_true", help="add issue 2's transformers baseline")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", choices=sorted(LEVELS), help="only these levels (default: all)"
    )
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/PERFORMANCE.md alone")
    args = parser.parse_args()
    levels = QUICK_LEVELS if args.quick else LEVELS
    levels = {c: n for c, n in levels.items() if not args.concurrency or c in args.concurrency}
    p, t = args.parallel, args.threads
    machine, began = machine_lines(["xllamacpp", "httpx", "uvicorn", "fastapi"]), time.time()
    runs: dict[tuple[str, int], list[Result]] = {}
    for level, n in levels.items():
        work = galen_work(n)
        rows: list[Callable[[], Result]] = [
            lambda: plain(level, n, p, t),  # noqa: B023 - each lambda runs within this iteration
            lambda: plain_work(level, work, p, t, kv=False),  # noqa: B023
            lambda: plain_work(level, work, p, t, kv=True),  # noqa: B023
            lambda: in_process(level, n, p, t),  # noqa: B023
            lambda: http(level, n, p, t, stream=False),  # noqa: B023
            lambda: http(level, n, p, t, stream=True),  # noqa: B023
        ]
        for _ in range(args.repeat):
            for row in rows:
                result = row()
                runs.setdefault((result.path, level), []).append(result)
                print(
                    f"c={level} {result.path}: {result.tok_s:.1f} tok/s ({result.tokens} tokens)", flush=True
                )
    if args.transformers:
        for result in transformers_runs(16, batch=8, threads=t):
            runs[result.path, result.concurrency] = [result]
    report, lines = table(runs), verdicts(runs)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{report}\n\n" + "\n".join(lines) + f"\n\n{time.time() - began:.0f} s, load {load}")
    if args.no_doc:
        return
    flags = f"{' --quick' if args.quick else ''}{' --transformers' if args.transformers else ''}"
    command = f"benchmarks/serve.py{flags} --repeat {args.repeat} --parallel {p} --threads {t}"
    config = (
        f"- Setup: embedded SmolLM2-135M-Instruct, the Q8_0 file galen serves ({smollm2_path().name}) for "
        f"every llama.cpp row; {p} slots and {t} threads for galen and plain xllamacpp alike; "
        f"max_tokens {MAX_TOKENS}, "
        f"temperature {TEMPERATURE}, seed = request index, non-streamed unless marked; requests per "
        f"concurrency level {levels}; {args.repeat} runs per row, interleaved; whole run "
        f"{time.time() - began:.0f} s; load average when it ended: {load}"
    )
    write_section(
        SECTION,
        f"Measured with `.venv/bin/python {command}`.\n\n"
        + "\n".join(machine)
        + f"\n{config}\n\n{report}\n\n### Targets and where the time goes\n\n"
        + "\n".join(lines)
        + "\n\n### What each step is\n\n"
        + NOTES,
    )
    print("wrote docs/PERFORMANCE.md")


NOTES = """\
- galen's work: `galen serve` renders the embedded default with the `chatml_think` template (a
  system prompt of about 25 tokens, an empty think block) and samples with the profile's
  `instruct` preset (top_k 20, top_p 0.8, presence penalty 1.5) under the request's temperature;
  plain llama.cpp uses SmolLM2's own template and its defaults (top_k 40, top_p 0.95, min_p
  0.05). Different prompts give different answers, of different lengths: a request that stops
  early leaves its slot idle at the end of a level. This is the model card's behaviour, not
  overhead; plain+work shows the peer doing exactly galen's work.
- KV layout: galen gives each slot its own KV stream of a full window (n_ctx = window x slots),
  where plain llama.cpp shares n_ctx between the slots.
- chat layer and engine wrapper: per request, the template render and a tokenize round trip to
  llama.cpp's loopback server; per token of a streamed answer, llama.cpp's callback, a queue to
  the chat layer's thread (parser) and one to the event loop. A non-streamed answer is taken in
  pieces of 32 tokens (`GenerationRequest.stream=False`), so most of the per-token hand-offs
  are gone; streams keep one hand-off per token.
- HTTP: FastAPI and pydantic, JSON, admission, and the client's own parsing on the same cores.
- Threads: both sides use `--threads` (default: all cores). llama.cpp's OpenMP threads
  spin-wait; every Python thread that wakes takes a core from them, which is why the hand-offs
  above cost more than their own CPU time on 2 cores.
"""


if __name__ == "__main__":
    main()
