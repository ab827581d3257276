"""Where a benchmark's rows come from, and the small readers every task file shares.

A task reads from one of three places (`resolve_data`):

- nothing given: the small sample we wrote ourselves and ship in `evals/samples/` (original items
  in the upstream format, for demos and tests; never real benchmark questions);
- a local path: the file or folder a user points at (`--data medqa=~/data/medqa/test.jsonl`);
- `"hub"` or `"hf://OWNER/NAME@REVISION"`: the Hugging Face hub at a pinned commit, fetched with
  `huggingface_hub` into its usual cache. Offline, or when the files are not cached, this fails
  with a message that names the task and says to pass a local path.

Whatever the place, `DataLocation.describe(files)` gives the `Task.source` string: where the rows
came from and the sha256 of every file that was read, so a report pins its data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from galen.errors import BadRequest
from galen.files import sha256_file

SAMPLES = Path(__file__).resolve().parent / "samples"
Origin = Literal["sample", "local", "hub"]


@dataclass(frozen=True)
class DataLocation:
    """A resolved data source.

    path: the file or folder to read (for the hub, the local snapshot folder).
    origin: "sample" (bundled, made up by us), "local" (a user's path) or "hub" (pinned download).
    ref: how a report names the source: "sample:medqa.jsonl", "/abs/path", "hf://ID@REVISION".
    """

    path: Path
    origin: Origin
    ref: str

    def describe(self, files: Iterable[Path]) -> str:
        """`Task.source`: the reference plus `name sha256:HEX` for each file read."""
        hashes = ", ".join(f"{_shown(f, self.path)} sha256:{sha256_file(f)}" for f in files)
        return f"{self.ref} [{hashes}]" if hashes else self.ref


def _shown(file: Path, root: Path) -> str:
    return str(file.relative_to(root)) if root.is_dir() and file.is_relative_to(root) else file.name


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """One JSON object per line; blank lines are skipped; a bad line is an error naming it."""
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise BadRequest("source", f"{path}:{number} is not valid JSON ({exc.msg})") from None
    return rows


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadRequest("source", f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None


def read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BadRequest("source", f"reading {path.name} needs pyarrow: pip install pyarrow") from None
    return pq.read_table(path).to_pylist()


def read_records(path: Path) -> list[dict[str, Any]]:
    """Rows of a .jsonl, .parquet or .json file (a JSON array, or JSON lines saved as .json)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return read_parquet(path)
    if suffix == ".jsonl":
        return read_jsonl(path)
    if suffix == ".json":
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return read_jsonl(path)  # JSON lines under a .json name (as on some hub repos)
        if isinstance(data, list):
            return data
        raise BadRequest("source", f"{path} holds a JSON {type(data).__name__}, expected a list of rows")
    raise BadRequest("source", f"{path.name}: expected a .jsonl, .json or .parquet file")


def find_one(folder: Path, patterns: Sequence[str], task: str) -> Path:
    """The first file under `folder` matching one of `patterns` (tried in order), or a clear error."""
    for pattern in patterns:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    raise BadRequest("source", f"{task}: no file matching {' or '.join(patterns)} in {folder}")


def check_count(task: str, rows: Sequence[Any], expected: int) -> None:
    """Raise when a pinned full split does not have its published number of rows."""
    if len(rows) != expected:
        raise BadRequest(
            "source",
            f"{task}: the pinned split should have {expected} rows but {len(rows)} were read; "
            "the download is incomplete or the revision is not the one this task was written for",
        )


def take(rows: list[Any], limit: int | None) -> list[Any]:
    """The first `limit` rows in file order (all when `limit` is None)."""
    if limit is not None and limit < 1:
        raise BadRequest("limit", f"must be at least 1, not {limit}")
    return rows if limit is None else rows[:limit]


def resolve_data(
    source: str | Path | None,
    default_sample: str,
    hub_id: str,
    revision: str | None,
    *,
    task: str,
    hub_files: Sequence[str] | None = None,
) -> DataLocation:
    """Turn a task's `source` argument into a local file or folder.

    source: None (our bundled sample `default_sample`), a path, "hub" (`hub_id` at `revision`) or
        "hf://OWNER/NAME@REVISION" (any dataset repo at an explicit revision).
    hub_files: glob patterns of the repo files to fetch (all of them when None).
    """
    if source is None:
        path = SAMPLES / default_sample
        if not path.exists():
            raise BadRequest("source", f"{task}: the bundled sample {path} is missing from this install")
        return DataLocation(path, "sample", f"sample:{default_sample}")
    text = str(source)
    if text == "hub" or text.startswith("hf://"):
        repo, rev = _hub_ref(text, hub_id, revision, task)
        folder = _download(repo, rev, hub_files, task)
        return DataLocation(folder, "hub", f"hf://{repo}@{rev}")
    path = Path(text).expanduser()
    if not path.exists():
        raise BadRequest("source", f"{task}: no such file or folder: {path}")
    return DataLocation(path.resolve(), "local", str(path.resolve()))


def _hub_ref(text: str, hub_id: str, revision: str | None, task: str) -> tuple[str, str]:
    if text == "hub":
        repo, rev = hub_id, revision
    else:
        repo, _, rev = text.removeprefix("hf://").partition("@")
        rev = rev or (revision if repo == hub_id else None)
    if not repo:
        raise BadRequest("source", f"{task}: {text!r} names no repository; use hf://OWNER/NAME@REVISION")
    if not rev:
        raise BadRequest(
            "source",
            f"{task}: no pinned revision is known for {repo}; pass hf://{repo}@<commit> "
            "or a local path to the files",
        )
    return repo, rev


def _download(repo: str, revision: str, patterns: Sequence[str] | None, task: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise BadRequest(
            "source", f"{task}: reading from the hub needs huggingface_hub: pip install huggingface_hub"
        ) from None
    try:
        folder = snapshot_download(
            repo, repo_type="dataset", revision=revision, allow_patterns=list(patterns) if patterns else None
        )
    except Exception as exc:  # offline, not cached, unknown repo or revision: all the same advice
        reason = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
        raise BadRequest(
            "source",
            f"{task}: could not get {repo}@{revision[:12]} from the Hugging Face hub ({reason}). "
            f"Pass a local path instead, e.g. --data {task}=PATH",
        ) from None
    return Path(folder)


@dataclass(frozen=True)
class FileSplit:
    """A benchmark split kept in one file, and where to find it.

    sample: our bundled sample's file name; hub_id, revision, hub_files: the pinned hub copy;
    folder_files: names to look for when a user points at a folder; rows: the published count.
    """

    task: str
    sample: str
    hub_id: str
    revision: str | None
    hub_files: tuple[str, ...]
    folder_files: tuple[str, ...]
    rows: int


@dataclass(frozen=True)
class Rows:
    """A split's rows, the `Task.source` text that pins them, and the files read."""

    rows: list[dict[str, Any]]
    source: str
    files: tuple[str, ...]


def load_split(split: FileSplit, source: str | Path | None) -> Rows:
    """The rows of a one-file split: the sample, a file, a folder holding the file, or the pinned
    hub revision (whose row count is checked)."""
    name = split.task
    where = resolve_data(
        source, split.sample, split.hub_id, split.revision, task=name, hub_files=split.hub_files
    )
    file = find_one(where.path, split.folder_files, name) if where.path.is_dir() else where.path
    rows = read_records(file)
    if where.origin == "hub":
        check_count(name, rows, split.rows)
    return Rows(rows, where.describe([file]), (str(file),))
