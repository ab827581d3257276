"""Synthesis throughput: `galen data synth` items per minute against the embedded server.

Starts `galen serve` (the embedded SmolLM2, `--parallel 8`) and makes guideline-grounded QA,
exam-style MCQ and vignette items from galen's guideline sample (or `--guidelines PATH`) three
ways, each into a fresh folder with an empty call cache: one teacher URL at concurrency 1, one at
concurrency 8, and two servers (a second `--parallel 8` one is started) at concurrency 8 each.
One try per item, so items per minute is teacher calls per minute; the kept share says how many
passed their checks (the 135M stand-in writes poor items, so it is low).

    .venv/bin/python benchmarks/synth.py [--limit 8] [--max-tokens 256] [--guidelines PATH] [--no-write]

On one CPU the two servers share the same cores, so that row shows the pool's overhead and
balance, not the scaling many GPU servers give.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, machine_lines, markdown_table, write_section  # noqa: E402

from galen.testing.server import start_server, stop_server  # noqa: E402

RECIPE = ROOT / "galen" / "data" / "samples" / "recipe_synth.yaml"


def warm(url: str) -> None:
    """galen serve hashes its weights for /v1/models on the first call: not part of synthesis."""
    import httpx

    httpx.get(f"{url}/models", timeout=600).raise_for_status()


def timed_run(urls: list[str], concurrency: int, args: argparse.Namespace, folder: Path) -> dict:
    from galen.data.recipe import load_recipe
    from galen.data.synth import run_synth

    recipe = load_recipe(RECIPE)
    settings = recipe.synth.model_copy(
        update={
            "limit": args.limit,
            "tries": 1,
            "max_tokens": args.max_tokens,
            "concurrency": concurrency,
            "shard_size": 10_000,  # one shard per generator: no barrier inside a row
            "guidelines": recipe.synth.guidelines.model_copy(
                update={"path": str(Path(args.guidelines).resolve()) if args.guidelines else None}
            ),
        }
    )
    recipe = recipe.model_copy(update={"output": str(folder), "synth": settings})
    start = time.perf_counter()
    result = run_synth(recipe, urls)
    seconds = time.perf_counter() - start
    items = result.chunks * len(settings.generators)
    kept = sum(result.kept.values())
    return {"items": items, "kept": kept, "seconds": seconds, "share": result.answered_by}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=8, help="Guideline chunks (x3 generators = items).")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--guidelines", help="Guideline files or folder (default: galen's sample).")
    parser.add_argument("--no-write", action="store_true", help="Print the table only.")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        first = start_server(["--parallel", "8"], Path(tmp) / "serve1.log")
        try:
            warm(first.base_url)
            for label, conc in (("1 server", 1), ("1 server", 8)):
                got = timed_run([first.base_url], conc, args, Path(tmp) / f"one-{conc}")
                rows.append((label, conc, got))
            second = start_server(["--parallel", "8"], Path(tmp) / "serve2.log")
            try:
                warm(second.base_url)
                got = timed_run([first.base_url, second.base_url], 8, args, Path(tmp) / "two-8")
                rows.append(("2 servers", 8, got))
            finally:
                stop_server(second)
        finally:
            stop_server(first)
    table = markdown_table(
        ["teachers", "concurrency per server", "items", "kept", "seconds", "items/min", "calls per server"],
        [
            [
                label,
                str(conc),
                str(got["items"]),
                str(got["kept"]),
                f"{got['seconds']:.1f}",
                f"{60 * got['items'] / got['seconds']:.1f}",
                " / ".join(str(n) for n in got["share"].values()),
            ]
            for label, conc, got in rows
        ],
    )
    print(table)
    if not args.no_write:
        source = args.guidelines or "galen's guideline sample (8 chunks: a smoke test, not a measurement)"
        body = "\n".join(
            [
                "`benchmarks/synth.py`: `galen data synth` against the embedded SmolLM2 on `galen serve "
                f"--parallel 8`, guideline QA + MCQ + vignette, one try per item, max_tokens "
                f"{args.max_tokens}, from {source}.",
                "",
                *machine_lines(["xllamacpp"]),
                "",
                table,
                "",
                "- Two servers on one CPU share its cores: that row shows the pool's balance (calls per "
                "server) and overhead, not the scaling of one vLLM server per GPU.",
                "- Rows run in this order on the same first server; its llama.cpp slots keep cached "
                "prompt prefixes between rows (the prompts share their example exchange), which favours "
                "later rows a little.",
            ]
        )
        write_section("Synthesis throughput (galen data synth)", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
