"""Items `galen data synth` made, read back as a source so that they are deduplicated and
decontaminated like any other (a recipe names the synth output folder as `path`).

The rows are the `Record`s in `<synth output>/shards/<generator>/kept-*.jsonl`. As with every
source, the record names the file the build read (the shard, its sha256 and row) and gets this
source's name and an id `<source>:<file>:<row>`; the synth id becomes `source_id`. What made it
stays: its guideline's licence, `metadata.guideline` (document id, title, url, corpus source,
file, file sha256, revision, text sha256) and `generation` (generator, prompt sha256, teacher,
sampling, chunk id, the check's verdict). `subset` picks one generator
(`guideline_qa`, `mcq` or `vignette`); without it, all three are read.
"""

from __future__ import annotations

from typing import Any

from galen.data.record import Record
from galen.data.sources.base import Adapter, Origin


def convert(row: dict[str, Any], at: Origin) -> Record:
    record = Record.model_validate(row)
    file = at.file
    return record.model_copy(
        update={
            "id": f"{at.id_prefix}:{at.row}",
            "source": at.source,
            "revision": file.revision,
            "file": file.shown,
            "file_sha256": file.sha256,
            "split": at.split,
            "row": at.row,
            "source_id": record.id,
            "licence": record.licence if at.licence == LICENCE else at.licence,  # the recipe's wins
        }
    )


LICENCE = "see each record"
ADAPTER = Adapter(
    "synth",
    convert,
    licence=LICENCE,
    sample="synth",
    files=("shards/{subset}/kept-*.jsonl",),
    subset="*",
)
