"""A training process killed after a checkpoint resumes from it when the same command runs again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from galen.cli.main import app

# 8 rows at 2 a step: 4 steps an epoch, so the run ends mid-epoch (where the Trainer once trained a
# step past max_steps on resume). The first run is killed once checkpoint 1 is whole.
MAX_STEPS = 3
STEPS = list(range(1, MAX_STEPS + 1))  # each logged once, however the run was killed
RUN_ARGS = [
    f"trl.max_steps={MAX_STEPS}",
    "trl.save_steps=1",
    "trl.save_total_limit=null",
    "trl.per_device_train_batch_size=2",
    "trl.max_length=192",
    "data.limit=8",
    "peft.r=4",
    "peft.alpha=8",
    "threads=1",
]


def command(run: Path) -> list[str]:
    sets = [item for a in RUN_ARGS for item in ("--set", a)]
    return [
        sys.executable,
        "-m",
        "galen.cli.main",
        "train",
        "sft",
        "cpu-smollm2-sft",
        *sets,
        "--output-dir",
        str(run),
    ]


def in_process(cmd: list[str]) -> Result:
    """`cmd` (a `python -m galen.cli.main ...` command line) run through the CLI in this process."""
    assert cmd[:3] == [sys.executable, "-m", "galen.cli.main"]
    return CliRunner().invoke(app, cmd[3:])


def complete_checkpoints(run: Path) -> list[int]:
    folder = run / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(
        int(p.name.split("-")[1]) for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").is_file()
    )


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(command(run), stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not complete_checkpoints(run):
        assert first.poll() is None, (tmp_path / "first.log").read_text()
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)  # no chance to clean up, as with an out-of-memory kill
    first.wait(timeout=30)
    done = complete_checkpoints(run)
    assert done and done[-1] < MAX_STEPS, f"the run finished before it could be killed: {done}"
    assert json.loads((run / "run.json").read_text())["status"] == "running"
    # What a kill mid-write leaves: a torn metrics line, and a torn trainer_state.json in the
    # checkpoint being saved. Neither may count: resume from the last whole one, log no step twice.
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"step": 9, "loss": 1.')
    torn = run / "checkpoints" / f"checkpoint-{done[-1] + 1}"
    torn.mkdir(exist_ok=True)
    (torn / "trainer_state.json").write_text('{"global_step": ' + str(done[-1] + 1))

    second = subprocess.run(command(run), capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    resumed = run / "checkpoints" / f"checkpoint-{done[-1]}"
    assert f"resuming from {resumed}" in second.stdout
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished" and info["global_step"] == MAX_STEPS
    assert info["resumed_from"] == [str(resumed)]
    state = json.loads((run / "checkpoints" / f"checkpoint-{MAX_STEPS}" / "trainer_state.json").read_text())
    assert [e["step"] for e in state["log_history"] if "loss" in e] == STEPS  # steps continued
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged if "loss" in r] == STEPS  # no step logged twice

    # Killed after its last checkpoint, before run.json said finished (final/ half-saved, say):
    # the rerun takes the last checkpoint as the end, and trains no step past max_steps.
    last = run / "checkpoints" / f"checkpoint-{MAX_STEPS}"
    info["status"] = "running"
    (run / "run.json").write_text(json.dumps(info))
    shutil.rmtree(run / "final")
    # The reruns below go through the same CLI in this process: importing torch, transformers and
    # TRL again in a new one would take longer than what they check.
    again = in_process(command(run))
    assert again.exit_code == 0, again.output
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished" and info["global_step"] == MAX_STEPS
    assert info["resumed_from"] == [str(resumed), str(last)]
    assert not (run / "checkpoints" / f"checkpoint-{MAX_STEPS + 1}").exists()
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged if "loss" in r] == STEPS
    final = (run / "final" / "adapter_model.safetensors").read_bytes()
    assert final == (last / "adapter_model.safetensors").read_bytes()  # the trained weights, not the base's

    third = in_process(command(run))
    assert third.exit_code == 0 and "already finished" in third.output

    # max_steps may change, r not
    changed = [*command(run), "--set", "peft.r=8", "--set", f"trl.max_steps={MAX_STEPS + 1}"]
    fourth = in_process(changed)
    assert fourth.exit_code == 2 and "holds a run of a different recipe (changed: peft.r)" in fourth.stderr
