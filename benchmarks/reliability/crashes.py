"""Long jobs killed with SIGKILL at random points, then run again with the same command.

What must hold, per job:

- `galen eval run`: the finished run's samples files are byte-identical to an uninterrupted
  run's (the embedded model in-process, one slot, greedy decoding, so that any difference
  comes from the resume and not from sampling or batching);
- `galen data distill`: the kept and rejected records (shards) and the exports are
  byte-identical to an uninterrupted run's (a `galen serve --parallel 1` teacher, greedy);
- `galen train sft`: the run resumes from the last checkpoint written before the kill, ends at
  its last step, and logs each step once.

A kill lands at a uniformly random time within the uninterrupted run's duration (startup
included, so some kills land before any work was saved: the rerun must then start over
cleanly). A run that finishes before its kill time (the machine got faster) is started again in
a fresh folder with half the time, so that every kill lands mid-run. The whole process group is
killed, as an out-of-memory killer or a lost node would.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from benchmarks.reliability import Check
from benchmarks.reliability.servers import ROOT, galen_serve
from galen.train.run_folder import checkpoint_step

GALEN = [sys.executable, "-m", "galen.cli.main"]


def _run(cmd: list[str], timeout: float = 1800) -> float:
    """Run to completion; return its duration (raises on failure)."""
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[3:6])} failed:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
    return time.monotonic() - started


def _kill_at(cmd: list[str], after: float) -> bool:
    """Start `cmd`, SIGKILL its process group after `after` seconds; False if it ended first."""
    process = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        process.wait(timeout=after)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return True


def _kill_mid_run(command: Callable[[Path], list[str]], out: Path, at: float, tries: int = 4) -> float | None:
    """Kill a run of `command` writing to `out` after `at` seconds; if it finished first, start
    over in a clean folder with half the time. Returns when the kill landed (None: never)."""
    for _ in range(tries):
        if _kill_at(command(out), at):
            return at
        shutil.rmtree(out, ignore_errors=True)
        at /= 2
    return None


def _files(folder: Path, patterns: tuple[str, ...]) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for pattern in patterns
        for p in sorted(folder.glob(pattern))
    }


def _kill_and_compare(
    name: str,
    command: Callable[[Path], list[str]],
    patterns: tuple[str, ...],
    work: Path,
    kills: int,
    rng: random.Random,
) -> Check:
    """Reference run, then `kills` runs killed at a random time and finished by a rerun."""
    duration = _run(command(work / "reference"))
    reference = _files(work / "reference", patterns)
    same, landed, points = 0, 0, []
    for k in range(kills):
        out = work / f"killed-{k}"
        at = _kill_mid_run(command, out, rng.uniform(0.1, 0.95) * duration)
        landed += at is not None
        points.append(f"{at:.1f}s" if at is not None else "never landed")
        _run(command(out))
        same += _files(out, patterns) == reference
    return Check(
        name,
        same == kills == landed and bool(reference),
        f"{kills} runs killed at random points of a {duration:.0f} s run ({landed} kills landed mid-run)",
        {
            "finished output identical to an uninterrupted run": f"{same}/{kills}",
            "kill points": ", ".join(points),
        },
    )


def eval_run(kills: int = 5, seed: int = 0, limit: int = 12) -> Check:
    def command(out: Path) -> list[str]:
        args = ["eval", "run", "--model", "smollm2", "--tasks", "medqa", "--limit", str(limit), "--no-think"]
        args += ["--max-tokens", "32", "--concurrency", "1", "--seed", "3", "--temperature", "0"]
        return [*GALEN, *args, "--output", str(out)]

    with tempfile.TemporaryDirectory() as tmp:
        return _kill_and_compare(
            "crash: galen eval run", command, ("samples_*.jsonl",), Path(tmp), kills, random.Random(seed)
        )


DISTILL_RECIPE = {
    "name": "short",
    "output": "build",
    "sources": [{"format": "medmcqa"}],
    "decontamination": {"tasks": ["medmcqa"]},
    "distill": {"shard_size": 1, "concurrency": 1, "tries": 2, "max_tokens": 16, "temperature": 0.0},
}


def data_distill(kills: int = 5, seed: int = 0, limit: int = 6) -> Check:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        recipe = work / "recipe.yaml"
        recipe.write_text(yaml.safe_dump(DISTILL_RECIPE))
        _run([*GALEN, "data", "build", str(recipe)])
        with galen_serve("--parallel", "1", "--context-length", "1024", log=work / "teacher.log") as teacher:

            def command(out: Path) -> list[str]:
                args = ["data", "distill", str(recipe), "--teacher", teacher.base_url, "--limit", str(limit)]
                return [*GALEN, *args, "--output", str(out)]

            patterns = ("shards/*.jsonl", "export/*.jsonl")
            return _kill_and_compare(
                "crash: galen data distill", command, patterns, work, kills, random.Random(seed)
            )


TRAIN_SETTINGS = [
    "trl.max_steps=6",
    "trl.save_steps=1",
    "trl.save_total_limit=null",
    "trl.per_device_train_batch_size=2",
    "trl.max_length=192",
    "data.limit=8",
    "peft.r=4",
    "peft.alpha=8",
    "threads=1",
]


def _checkpoints(run: Path) -> list[int]:
    """The complete checkpoints' steps: those whose trainer_state.json (written last) reads whole."""
    folder = run / "checkpoints"
    found = folder.glob("checkpoint-*") if folder.is_dir() else []
    return sorted(step for p in found if (step := checkpoint_step(p)) == int(p.name.split("-")[1]))


def _status(run: Path) -> str | None:
    path = run / "run.json"
    try:
        return json.loads(path.read_text()).get("status") if path.exists() else None
    except json.JSONDecodeError:
        return "unreadable run.json"


def _logged_steps(run: Path) -> list[int]:
    """The steps with a training loss in metrics.jsonl, in file order (a torn line counts as none)."""
    path = run / "metrics.jsonl"
    steps = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "loss" in record:
            steps.append(record.get("step"))
    return steps


def _why_not_resumed(run: Path, expected: list[str]) -> str | None:
    """None when the rerun finished at step 6, logged each step once and resumed from `expected`;
    otherwise what differs (status, global step, logged steps, resumed_from)."""
    info = json.loads((run / "run.json").read_text()) if (run / "run.json").exists() else {}
    logged, resumed = _logged_steps(run), info.get("resumed_from", [])[-1:]
    wrong = []
    if info.get("status") != "finished" or info.get("global_step") != 6:
        status, step = info.get("status"), info.get("global_step")
        wrong.append(f"status {status}, global_step {step} (expected finished, 6)")
    if logged != [1, 2, 3, 4, 5, 6]:
        wrong.append(f"logged steps {logged} (expected [1, 2, 3, 4, 5, 6])")
    if resumed != expected:
        wrong.append(f"last resumed_from {resumed} (expected {expected})")
    return "; ".join(wrong) or None


def train_sft(kills: int = 5, seed: int = 0) -> Check:
    def command(run: Path) -> list[str]:
        sets = [item for setting in TRAIN_SETTINGS for item in ("--set", setting)]
        return [*GALEN, "train", "sft", "cpu-smollm2-sft", *sets, "--output-dir", str(run)]

    rng, resumed_right, landed, points, notes = random.Random(seed), 0, 0, [], []
    with tempfile.TemporaryDirectory() as tmp:
        duration = _run(command(Path(tmp) / "reference"))
        for k in range(kills):
            run = Path(tmp) / f"killed-{k}"
            at = _kill_mid_run(command, run, rng.uniform(0.1, 0.95) * duration)
            killed = at is not None
            landed += killed
            saved, state = _checkpoints(run), _status(run)
            point = f"{at:.1f}s (checkpoint {saved[-1] if saved else 'none'})" if killed else "never landed"
            points.append(point)
            try:
                _run(command(run))
            except RuntimeError as exc:  # a rerun that fails is a failed resume, not a broken check
                notes.append(f"run {k} killed at {point}, status {state}: the rerun failed: {exc}")
                continue
            last = run / "checkpoints" / f"checkpoint-{saved[-1]}" if saved else None
            expected = [str(last)] if killed and last and state != "finished" else []
            why = _why_not_resumed(run, expected)
            resumed_right += why is None
            if why:
                notes.append(f"run {k} killed at {point}, status {state} at the kill: {why}")
    return Check(
        "crash: galen train sft",
        resumed_right == kills == landed,
        f"{kills} runs killed at random points of a {duration:.0f} s run ({landed} kills landed mid-run)",
        {
            "resumed from the last checkpoint, every step logged once": f"{resumed_right}/{kills}",
            "kill points": ", ".join(points),
        },
        notes,
    )
