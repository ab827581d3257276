"""File utilities every layer shares: content hashes, the weights hash, and galen's cache folder.

`sha256_file` always reads the file. `sha256_cached` remembers a file's hash under its path,
size and modification time (in `$GALEN_CACHE/hashes/`), so a 50 GB checkpoint is read once, not
at every eval; any rewrite of the file changes its size or time and is hashed again.
`weights_sha256` is the one content hash of a model's weights (see its docstring).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

# Weight files by suffix, for `weights_files`: what a model's numbers are stored in.
WEIGHT_SUFFIXES = (".safetensors", ".gguf", ".bin", ".pt", ".pth")


def cache_dir() -> Path:
    """galen's cache: `$GALEN_CACHE`, else ~/.cache/galen (converted models, downloads, hashes)."""
    return Path(os.environ.get("GALEN_CACHE") or Path.home() / ".cache" / "galen")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_json(value: Any) -> str:
    """The hash of a JSON value, independent of key order."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return sha256_bytes(text.encode())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_cached(path: Path) -> str:
    """`sha256_file`, remembered under (absolute path, size, mtime) in the galen cache."""
    path = Path(path).resolve()
    stat = path.stat()
    key = sha256_bytes(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    memo = cache_dir() / "hashes" / key
    if memo.is_file():
        return memo.read_text().strip()
    digest = sha256_file(path)
    write_atomic(memo, digest + "\n")
    return digest


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def weights_files(path: Path) -> list[Path]:
    """The weight files of a model: the file itself, or those in a folder (not in subfolders)."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def weights_sha256(path: Path) -> str | None:
    """One content hash of a model's weights, or None when there are no weight files.

    A single file (a GGUF, one safetensors) hashes as itself, so `sha256sum` gives the same
    value; several files hash as the sha256 of their `name sha256` lines in name order.
    """
    files = weights_files(path)
    if not files:
        return None
    if len(files) == 1:
        return sha256_cached(files[0])
    lines = "".join(f"{f.name} {sha256_cached(f)}\n" for f in files)
    return sha256_bytes(lines.encode())
