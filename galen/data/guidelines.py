"""Guideline ingest: clinical practice guidelines in, documents with provenance and chunks out.

The public corpus the MeditronFO work builds on is `epfl-llm/guidelines` (the open-access part
of Meditron's 46,469 guidelines; `open_guidelines.jsonl`, one article a line):

    {"id": "7a73f9287841533eeb11c025026322a23d519f2c", "source": "cco", "title": "...",
     "clean_text": "...", "raw_text": "...", "url": "https://...", "overview": "..."}

It is read at a pinned revision through galen's hub code path (`path: hub`), or from local
files: .jsonl rows like the above (`columns` renames fields; `text` is read when there is no
`clean_text`), and .md / .txt files, one guideline each (PDF-extracted text included). A
markdown or text file may start with a YAML front matter block giving `id`, `title`, `url`,
`source` and `licence`; otherwise its title is its first `# ` heading or its name.

Every document keeps its provenance: corpus source, url, licence, the file it came from with
that file's sha256 and revision, and the sha256 of its own text. A document is cut into chunks of
at most `chunk_words` words on paragraph, then sentence, boundaries; a chunk id is
`<document id>#<k>`. A file that cannot be read (not UTF-8, no text), a jsonl line that is not
a JSON object and a repeated document id are skipped and counted by reason, so one bad file
never stops an ingest of thousands; a folder with nothing readable is an error.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from galen.data.sources.base import SAMPLES
from galen.errors import BadRequest, GalenError
from galen.evals.loading import resolve_data
from galen.files import sha256_bytes, sha256_file

HUB = "epfl-llm/guidelines"
REVISION = "a8f0269471088e4c8aafe2319f30c14b2fad82bc"  # 2024-03-07, open_guidelines.jsonl
HUB_FILES = ("open_guidelines.jsonl",)
HUB_LICENCE = "other: each source's own terms (see the epfl-llm/guidelines dataset card)"
SAMPLE = "guidelines"
FIELD = "synth.guidelines.path"
SUFFIXES = (".jsonl", ".md", ".markdown", ".txt")
FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Document:
    """One guideline and where it came from. sha256: of `text`."""

    id: str
    source: str
    title: str
    url: str | None
    licence: str
    text: str
    file: str
    file_sha256: str
    revision: str
    row: int

    @property
    def sha256(self) -> str:
        return sha256_bytes(self.text.encode("utf-8"))

    def summary(self) -> dict[str, Any]:
        """The document's provenance without its text (documents.jsonl)."""
        keys = ("id", "source", "title", "url", "licence", "file", "file_sha256", "revision", "row")
        return {**{k: getattr(self, k) for k in keys}, "sha256": self.sha256, "words": len(self.text.split())}


@dataclass(frozen=True)
class Chunk:
    """A passage a generator grounds one item on."""

    id: str
    document: Document
    index: int
    text: str

    @property
    def sha256(self) -> str:
        return sha256_bytes(self.text.encode("utf-8"))

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "document": self.document.id,
            "index": self.index,
            "sha256": self.sha256,
            "words": len(self.text.split()),
            "text": self.text,
        }


@dataclass
class Ingest:
    documents: list[Document]
    chunks: list[Chunk]
    files: list[tuple[Path, str, str]]  # path, sha256, revision
    skipped: Counter[str] = field(default_factory=Counter)
    where: str = ""


def chunk_text(text: str, max_words: int) -> list[str]:
    """Paragraphs packed into chunks of at most `max_words` words; a longer paragraph is cut at
    sentences, and a longer sentence at `max_words` words.

    >>> chunk_text("One two.\\n\\nThree four five.", 3)
    ['One two.', 'Three four five.']
    >>> chunk_text("One two.\\n\\nThree.", 3)
    ['One two.\\n\\nThree.']
    """
    pieces: list[tuple[str, bool]] = []  # (text, starts a paragraph)
    for paragraph in re.split(r"\n\s*\n", text):
        words = paragraph.split()
        if len(words) <= max_words:
            pieces += [(" ".join(words), True)] if words else []
            continue
        first = True
        for sentence in SENTENCE.split(" ".join(words)):
            said = sentence.split()
            for i in range(0, len(said), max_words):
                pieces.append((" ".join(said[i : i + max_words]), first))
                first = False
    chunks: list[str] = []
    sizes: list[int] = []
    for piece, new_paragraph in pieces:
        n = len(piece.split())
        if chunks and sizes[-1] + n <= max_words:
            chunks[-1] += ("\n\n" if new_paragraph else " ") + piece
            sizes[-1] += n
        else:
            chunks.append(piece)
            sizes.append(n)
    return chunks


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = FRONT.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise BadRequest("guidelines", f"front matter is not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict):
        raise BadRequest("guidelines", "front matter must be a mapping of fields")
    return meta, text[match.end() :]


def _title(body: str, path: Path) -> str:
    heading = re.search(r"^#\s+(.+)$", body, re.M)
    return heading.group(1).strip() if heading else path.stem.replace("_", " ")


def _text_document(path: Path, shown: str, licence: str) -> list[dict[str, Any]]:
    meta, body = _front_matter(path.read_text(encoding="utf-8"))
    return [
        {
            "id": meta.get("id") or Path(shown).with_suffix("").as_posix(),
            "source": meta.get("source") or "local",
            "title": meta.get("title") or _title(body, path),
            "url": meta.get("url"),
            "licence": meta.get("licence") or meta.get("license") or licence,
            "text": body,
        }
    ]


def _jsonl_documents(
    path: Path, licence: str, columns: dict[str, str], skipped: Counter[str]
) -> list[dict[str, Any]]:
    """One document per line; a line that is not a JSON object is skipped and counted."""
    rows = []
    with path.open(encoding="utf-8") as lines:  # line by line: the hub corpus is ~900 MB
        for line in lines:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                skipped["jsonl row: not valid JSON"] += 1
                continue
            if not isinstance(row, dict):
                skipped["jsonl row: not a JSON object"] += 1
                continue
            named = {
                key: row.get(columns.get(key, key)) for key in ("id", "source", "title", "url", "licence")
            }
            text = row.get(columns.get("text", "clean_text")) or row.get("text") or row.get("raw_text")
            rows.append({**named, "licence": named["licence"] or licence, "text": text})
    return rows


def _read_file(
    path: Path, shown: str, revision: str, licence: str, columns: dict[str, str], skipped: Counter[str]
) -> tuple[list[Document], str | None]:
    """The documents of one file; an unreadable file or row is counted in `skipped` by reason."""
    try:
        sha = sha256_file(path)
        if path.suffix == ".jsonl":
            rows = _jsonl_documents(path, licence, columns, skipped)
        else:
            rows = _text_document(path, shown, licence)
    except UnicodeDecodeError:
        skipped["unreadable file: not UTF-8 text"] += 1
        return [], None
    except OSError as exc:
        skipped[f"unreadable file: {exc.strerror or type(exc).__name__}"] += 1
        return [], None
    except GalenError as exc:
        skipped[f"unreadable file: {exc.message.split(': ', 1)[-1]}"] += 1
        return [], None
    documents = []
    for row_number, row in enumerate(rows):
        text = str(row.get("text") or "").strip()
        if not text:
            skipped["no text"] += 1
            continue
        doc_id = str(row.get("id") or f"{Path(shown).stem}-{row_number}")
        documents.append(
            Document(
                id=doc_id,
                source=str(row.get("source") or "local"),
                title=str(row.get("title") or doc_id),
                url=str(row["url"]) if row.get("url") else None,
                licence=str(row.get("licence") or licence),
                text=text,
                file=shown,
                file_sha256=sha,
                revision=revision,
                row=row_number,
            )
        )
    return documents, sha


def _files(where: Path) -> list[Path]:
    if where.is_file():
        return [where]
    found = sorted(p for p in where.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not found:
        raise BadRequest("path", f"{where}: no guideline files ({', '.join(SUFFIXES)})")
    return found


def locate(path: str | None, base: Path) -> tuple[Path, str, str]:
    """Where the guidelines are: (file or folder, revision, how to name it). None: our sample;
    "hub" or "hf://ID@COMMIT": the hub at a pinned revision (galen's hub code path)."""
    if path is None:
        return SAMPLES / SAMPLE, "sample", f"sample:{SAMPLE}"
    if path == "hub" or path.startswith("hf://"):
        location = resolve_data(path, "", HUB, REVISION, task="guidelines", hub_files=HUB_FILES)
        return location.path, location.ref.rsplit("@", 1)[-1], location.ref
    where = Path(path).expanduser()
    where = where if where.is_absolute() else base / where
    if not where.exists():
        raise BadRequest("path", f"no such file or folder: {where}")
    return where, "local", str(where.resolve())


def ingest(
    path: str | None,
    base: Path,
    *,
    chunk_words: int = 300,
    min_chunk_words: int = 20,
    licence: str | None = None,
    limit: int | None = None,
    columns: dict[str, str] | None = None,
) -> Ingest:
    """Read every guideline under `path` (see the module docstring) and cut it into chunks."""
    try:
        where, revision, shown_where = locate(path, base)
        files = _files(where)
    except GalenError as exc:
        message = exc.message.removeprefix("path: ").removeprefix("source: ").removeprefix("guidelines: ")
        message = message.split(" Pass a local path")[0]  # galen eval's advice names its own flag
        raise BadRequest(FIELD, message) from None
    default_licence = HUB_LICENCE if revision not in ("sample", "local") else "unspecified"
    result = Ingest([], [], [], Counter(), shown_where)
    root = where if where.is_dir() else where.parent
    for file in files:
        shown = file.relative_to(root).as_posix()
        documents, sha = _read_file(file, shown, revision, default_licence, columns or {}, result.skipped)
        if sha:
            result.files.append((file, sha, revision))
        result.documents += documents
        if limit is not None and len(result.documents) >= limit:
            result.documents = result.documents[:limit]
            break
    if not result.documents:
        reasons = "; ".join(f"{n} {why}" for why, n in result.skipped.items()) or "no files"
        raise BadRequest(FIELD, f"{shown_where}: no guideline could be read ({reasons})")
    unique: dict[str, Document] = {}
    for document in result.documents:
        if document.id in unique:  # chunk ids must be unique: a later one is left out, and counted
            result.skipped["duplicate document id"] += 1
        else:
            unique[document.id] = replace(document, licence=licence) if licence else document
    result.documents = list(unique.values())
    for document in result.documents:
        for k, text in enumerate(chunk_text(document.text, chunk_words)):
            if len(text.split()) < min_chunk_words:
                result.skipped["chunk shorter than min_chunk_words"] += 1
                continue
            result.chunks.append(Chunk(f"{document.id}#{k}", document, k, text))
    return result
