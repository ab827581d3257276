"""Published benchmark numbers (a model card's table) as reference columns for `galen eval table`.

galen ships the two cards' numbers in `published/cards.yaml` (keys `reasoning-medical-27b` and
`meditron-fo`); a file of your own in the same format is read the same way (`--published FILE`).
Values are kept as fractions whatever the card's scale; a mistake in a file is reported with its
field path (`cards.x.columns.M.medqa: ...`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from galen.config import ConfigModel, read_yaml, validate
from galen.errors import BadRequest

SHIPPED = Path(__file__).resolve().parent / "published" / "cards.yaml"


class TaskSetting(ConfigModel):
    """How the source says a number was measured (shown next to it; never checked)."""

    version: str | None = Field(None, description="The task version the source states.")
    filter: str | None = Field(None, description="The answer filter (custom-extract, none, ...).")
    n_shot: int | None = Field(None, ge=0, description="Few-shot exemplars.")
    metric: str | None = Field(None, description="acc, exact_match, ...")


class Card(ConfigModel):
    """One source's table: model name -> task -> value."""

    title: str = Field(description="Where the numbers come from.")
    url: str = Field("", description="Link to the source.")
    scale: Literal["fraction", "percent"] = Field(description="fraction (0-1) or percent (0-100).")
    note: str = Field("", description="What a reader must know about how the numbers were read.")
    settings: dict[str, TaskSetting] = Field(default_factory=dict, description="Task -> settings.")
    columns: dict[str, dict[str, float]] = Field(min_length=1, description="Model -> task -> value.")

    @model_validator(mode="after")
    def _in_range(self) -> Card:
        top = 1.0 if self.scale == "fraction" else 100.0
        for model, values in self.columns.items():
            for task, value in values.items():
                if not 0 <= value <= top:
                    raise ValueError(f"columns.{model}.{task}: {value} is outside 0..{top:g} ({self.scale})")
        return self


class PublishedFile(ConfigModel):
    cards: dict[str, Card] = Field(min_length=1, description="Card key -> its table.")


@dataclass(frozen=True)
class PublishedColumn:
    """One model's published numbers, as fractions."""

    name: str
    card: str
    values: dict[str, float]
    settings: dict[str, TaskSetting]
    note: str
    url: str


def read_published(path: Path) -> PublishedFile:
    return validate(PublishedFile, read_yaml(path), base=path.parent, source=str(path))


def published_columns(spec: str) -> list[PublishedColumn]:
    """The columns of a shipped card (`spec` a key of cards.yaml) or of every card in a YAML
    file (`spec` its path)."""
    path = Path(spec).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise BadRequest("published", f"no published-numbers file at {path}")
        cards = read_published(path).cards
    else:
        shipped = read_published(SHIPPED).cards
        if spec not in shipped:
            raise BadRequest(
                "published", f"unknown card {spec!r}; galen ships: {', '.join(shipped)} (or give a YAML file)"
            )
        cards = {spec: shipped[spec]}
    out = []
    for key, card in cards.items():
        factor = 100.0 if card.scale == "percent" else 1.0
        for model, values in card.columns.items():
            fractions = {task: value / factor for task, value in values.items()}
            out.append(PublishedColumn(model, key, fractions, card.settings, card.note, card.url))
    return out


def shipped_cards() -> dict[str, Card]:
    return read_published(SHIPPED).cards
