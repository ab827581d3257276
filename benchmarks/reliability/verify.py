"""`galen data verify` catches one flipped byte in any file of a build.

The sample recipe (galen/data/samples/recipe.yaml) is built into a temporary folder; then, file
by file, one byte at a random offset is flipped, `galen data verify` runs (through its CLI, in
this process), and the byte is put back. Every file must be caught, and the untouched build
must verify.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from typer.testing import CliRunner

from benchmarks.reliability import Check
from benchmarks.reliability.servers import ROOT
from galen.cli.main import app
from galen.data.build import build
from galen.data.recipe import load_recipe

RECIPE = ROOT / "galen" / "data" / "samples" / "recipe.yaml"


def _verify(folder: Path) -> int:
    return CliRunner().invoke(app, ["data", "verify", str(folder)]).exit_code


def run(seed: int = 0) -> Check:
    rng, missed, files = random.Random(seed), [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "build"
        build(load_recipe(RECIPE).model_copy(update={"output": str(out)}))
        clean = _verify(out) == 0
        files = sorted(p for p in out.rglob("*") if p.is_file())
        for path in files:
            data = bytearray(path.read_bytes())
            if not data:
                continue
            at = rng.randrange(len(data))
            data[at] ^= 0x01
            path.write_bytes(bytes(data))
            try:
                if _verify(out) == 0:
                    missed.append(str(path.relative_to(out)))
            finally:
                data[at] ^= 0x01
                path.write_bytes(bytes(data))
    return Check(
        "verify",
        clean and not missed and bool(files),
        f"one flipped byte in each of {len(files)} files of a build",
        {"caught": f"{len(files) - len(missed)}/{len(files)}", "missed": ", ".join(missed) or "none"},
    )
