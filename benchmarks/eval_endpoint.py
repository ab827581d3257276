"""galen eval through an endpoint and in --deterministic mode: what each costs (issue 11).

1. Log-likelihood through `galen serve`: the shipped SmolLM2 GGUF on the transformers engine,
   served (`galen serve --engine transformers --threads T`) and scored over HTTP with
   `echo`/`logprobs` (galen's endpoint client, `galen.engine.endpoint_loglik`), against the same
   model loaded in this process; items/s of each and the ratio, and the largest difference in
   a per-choice log-likelihood (the test's bar is 1e-4).
2. `--deterministic` against the default: generative MedQA on the embedded SmolLM2 (llama.cpp,
   in this process) at concurrency 8 with 8 slots, and with --deterministic (one call at a time,
   one slot, no prompt cache); questions/min of each, and whether two deterministic runs gave
   identical samples.

Model loading is outside every timing; each run starts with a fresh call cache.

    .venv/bin/python benchmarks/eval_endpoint.py                      # 100 items per row
    .venv/bin/python benchmarks/eval_endpoint.py --limit 4 --no-write # smoke run
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, machine_lines, markdown_table, write_section  # noqa: E402

from galen.testing.server import start_server, stop_server  # noqa: E402

SHARED = ROOT.parent / "shared" / "benchmarks"
FOLDERS = {"medqa": "medqa", "pubmedqa": "pubmedqa"}


def _task(name: str, limit: int):
    from galen.evals.tasks import get_task

    source = SHARED / FOLDERS[name]
    return get_task(name, source=str(source) if source.exists() else None, limit=limit)


def _timed(config, task, client) -> tuple[float, list]:
    from galen.evals.runner import evaluate

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = evaluate(config, [task], client, Path(tmp))
        return time.perf_counter() - start, run.tasks[0][2]


def loglik_rows(limit: int, threads: int) -> list[tuple[str, ...]]:
    from galen.evals.clients import open_client
    from galen.evals.config import EvalConfig
    from galen.models.embedded import smollm2_shipped_path

    gguf = str(smollm2_shipped_path())
    rows = []
    with tempfile.TemporaryDirectory() as logs:
        server = start_server(
            [
                "--model",
                gguf,
                "--engine",
                "transformers",
                "--threads",
                str(threads),
                "--context-length",
                "2048",
            ],
            Path(logs) / "serve.log",
            timeout=300,
        )
        try:
            remote = open_client(server.base_url)
            local = open_client(gguf, "transformers")
            for name in FOLDERS:
                task = _task(name, limit)
                results = {}
                for label, client, model in (
                    ("in-process", local, gguf),
                    ("galen serve", remote, server.base_url),
                ):
                    config = EvalConfig(model=model, tasks=[name], mode="loglik")
                    results[label] = _timed(config, task, client)
                (t_local, ours), (t_remote, theirs) = results["in-process"], results["galen serve"]
                diff = max(
                    abs(a - b)
                    for x, y in zip(ours, theirs, strict=True)
                    for a, b in zip(x.logliks, y.logliks, strict=True)
                )
                n = len(ours)
                rows.append(
                    (name, str(n), f"{n / t_local:.2f}", f"{n / t_remote:.2f}", f"{t_local / t_remote:.2f}x",
                     f"{diff:.1e}")
                )  # fmt: skip
            local.close()
            remote.close()
        finally:
            stop_server(server)
    return rows


def deterministic_rows(limit: int, max_tokens: int) -> tuple[list[tuple[str, ...]], bool]:
    from galen.evals.clients import open_client
    from galen.evals.config import EvalConfig

    task = _task("medqa", limit)
    rows, samples = [], []
    for label, deterministic in (
        ("concurrency 8 (default)", False),
        ("--deterministic", True),
        ("--deterministic, again", True),
    ):
        config = EvalConfig(
            model="smollm2", tasks=["medqa"], thinking=False, max_tokens=max_tokens, seed=3,
            deterministic=deterministic,
        )  # fmt: skip
        client = open_client("smollm2", parallel=config.concurrency, deterministic=deterministic)
        try:
            seconds, results = _timed(config, task, client)
        finally:
            client.close()
        samples.append([r.content for r in results])
        rows.append((label, str(len(results)), f"{seconds:.1f}", f"{60 * len(results) / seconds:.1f}"))
    return rows, samples[1] == samples[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100, help="items per row")
    parser.add_argument("--max-tokens", type=int, default=64, help="answer length in the generative rows")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="the server's torch threads")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    args = parser.parse_args()
    began = time.strftime("%Y-%m-%d %H:%M %Z")
    machine = machine_lines(("transformers", "torch", "xllamacpp"))
    loglik = markdown_table(
        (
            "task",
            "n",
            "in-process items/s",
            "through galen serve items/s",
            "serve / in-process",
            "max |Δ loglik|",
        ),
        loglik_rows(args.limit, args.threads),
    )
    rows, same = deterministic_rows(args.limit, args.max_tokens)
    determinism = markdown_table(("MedQA, generative", "n", "wall s", "questions/min"), rows)
    data = "../shared/benchmarks" if SHARED.exists() else "galen's bundled samples (a smoke test only)"
    print(
        f"{began}; data: {data}", loglik, determinism, f"deterministic reruns identical: {same}", sep="\n\n"
    )
    if args.no_write:
        return 0
    body = "\n".join(
        [
            f"Measured with `.venv/bin/python benchmarks/eval_endpoint.py --limit {args.limit} "
            f"--max-tokens {args.max_tokens} --threads {args.threads}` (started {began}); data: {data}.",
            "",
            *machine,
            "",
            "Log-likelihood (`--mode loglik`, lm-eval preset, zero-shot) through `galen serve --engine "
            "transformers` (prompt log-probabilities: `echo`, `logprobs`, `max_tokens: 0`) against the same "
            "SmolLM2 GGUF in this process, both float32 on the CPU:",
            "",
            loglik,
            "",
            "Why the endpoint is slower was not profiled. What differs: the server scores every "
            "token of every prompt it is sent (the output layer and a log-softmax at each position, "
            "each token's text in the JSON), where galen in-process computes only the positions it "
            "scores; the client sends each context alone and with each continuation, as lm-eval's "
            "`local-completions` does (the server shares their common prefix within one call).",
            "",
            "`--deterministic` (one call at a time, one llama.cpp slot, no prompt cache) against the default "
            f"(8 calls in flight, 8 slots), embedded SmolLM2 in this process, thinking off, greedy, "
            f"{args.max_tokens} tokens at most; two deterministic runs gave identical samples: {same}.",
            "",
            determinism,
        ]
    )
    write_section("galen eval through an endpoint, and --deterministic (issue 11)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
