"""One way to configure a job: typed pydantic models that a YAML file (and flags) fill in.

`galen eval run --config`, `galen data` recipes and `galen train` recipes all build on this:

- `ConfigModel`: unknown keys are refused (with the closest known name), every field has help;
- `validate(cls, data, base=..., source=...)` reports every problem at once, each with the path of
  the field at fault, as one `ConfigError`:

      recipe.yaml: 2 problems
        sources[2].format: unknown format 'medqq'; known: medqa, medmcqa, ...
        trl.per_device_train_batch: not an argument of trl.SFTConfig; did you mean ...?

- paths in a config file are relative to the file: a field typed `ConfigPath` (always a path)
  or `PathOrName` (a path, or a name such as an embedded model or "sample") is resolved against
  the file's folder while it is validated (`base`); with no file, against the working directory;
- `read_yaml` and `set_override` ("a.b=3", the value read as YAML) are the same for every job.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, ValidationInfo

from galen.errors import BadRequest

Problems = list[tuple[str, str]]
# Why a config never holds an API key: configs are copied into run folders, keys must not be.
NO_KEYS = (
    "a config never holds a key (it is copied into run folders); put the key in an environment "
    "variable and name that variable in api_key_env"
)


def refuse_keys(data: Any) -> Any:
    """A `mode="before"` check: an `api_key` setting is refused with NO_KEYS."""
    if isinstance(data, dict) and "api_key" in data:
        raise ValueError(f"api_key: {NO_KEYS}")
    return data


class ConfigModel(BaseModel):
    """Base of every config: no unknown keys."""

    model_config = ConfigDict(extra="forbid")


class ConfigError(BadRequest):
    """A config that cannot run; `problems` lists every `(field, why and the fix)` found.

    `param` is the first field at fault; the message names them all, one per line.
    """

    def __init__(self, problems: Problems, source: str = "config") -> None:
        self.problems = problems
        if len(problems) == 1:
            where, why = problems[0]
            text = f"{where}: {why}"
        else:
            lines = "\n".join(f"  {where}: {why}" for where, why in problems)
            text = f"{source}: {len(problems)} problems\n{lines}"
        super().__init__(None, text)
        self.param = problems[0][0] if problems else None


def field_path(loc: Iterable[Any]) -> str:
    """('sources', 2, 'format') -> 'sources[2].format'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def suggest(name: str, known: Iterable[str], renamed: Mapping[str, str] | None = None) -> str:
    """ "; did you mean `x`?" for a misspelt or renamed key, or ""."""
    known = list(known)
    if renamed and renamed.get(name) in known:
        return f"; did you mean `{renamed[name]}`?"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _field_names(model: type[BaseModel], path: list[Any]) -> list[str]:
    """The field names known at `path` inside `model` (for suggestions)."""
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        inner = [a for a in _flat_args(field.annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not inner:
            return []
        model = inner[0]
    return list(model.model_fields)


def _flat_args(annotation: Any) -> list[Any]:
    args = typing.get_args(annotation)
    return [annotation] if not args else [a for arg in args for a in _flat_args(arg)]


def problems_of(
    exc: ValidationError,
    model: type[BaseModel],
    skip: Iterable[str] = (),
    root: str = "config",
    renamed: Mapping[str, str] | None = None,
) -> Problems:
    """pydantic's errors as `(field path, message)`; `skip`: tags in a location (union members);
    `root`: the name of the whole config, for errors about no one field; `renamed`: names other
    tools use -> ours, for suggestions."""
    found = []
    for error in exc.errors():
        loc = [p for p in error["loc"] if p not in skip and p != "function-after"]
        where = field_path(loc) or root
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown setting{suggest(str(loc[-1]), _field_names(model, loc[:-1]), renamed)}"
        elif error["type"] == "missing":
            message = "required field is missing"
        found.append((where, message))
    return found


M = typing.TypeVar("M", bound=BaseModel)


def validate(
    cls: type[M],
    data: Any,
    *,
    base: Path | None = None,
    source: str = "config",
    skip: Iterable[str] = (),
    root: str = "config",
    renamed: Mapping[str, str] | None = None,
) -> M:
    """`cls` filled in from `data`, paths resolved against `base`; every problem in one ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError([(root, f"expected a mapping of settings, not {type(data).__name__}")], source)
    try:
        return cls.model_validate(data, context={"base": base})
    except ValidationError as exc:
        raise ConfigError(problems_of(exc, cls, skip, root, renamed), source) from None


def read_yaml(path: Path, what: str = "config") -> dict[str, Any]:
    """A YAML file's mapping; a missing file, bad YAML or a non-mapping is a one-line error."""
    if not path.is_file():
        raise ConfigError([(what, f"no such {what} file: {path}")])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError([(what, f"{path} is not valid YAML: {exc}")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([(what, f"{path}: expected a mapping of settings, not {type(data).__name__}")])
    return data


def set_override(data: dict[str, Any], assignment: str) -> None:
    """Apply `a.b.c=value` to a config dict; the value is read as YAML (3, true, [a, b], null)."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ConfigError([("--set", f"{assignment!r}: expected FIELD=VALUE, e.g. trl.max_steps=3")])
    *parents, last = key.strip().split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError([("--set", f"{key}: {part} is not a mapping")])
    node[last] = yaml.safe_load(raw)


def _base(info: ValidationInfo) -> Path | None:
    return (info.context or {}).get("base")


def resolve_path(value: str, base: Path | None) -> str:
    """A relative path against `base` (the config file's folder); others as they are."""
    path = Path(value).expanduser()
    return str(path if path.is_absolute() or base is None else base / path)


def _config_path(value: str | None, info: ValidationInfo) -> str | None:
    return None if value is None else resolve_path(value, _base(info))


def _path_or_name(value: str | None, info: ValidationInfo) -> str | None:
    """Resolved when it names something that exists beside the config file; kept as written
    otherwise (an embedded model, a hub id, "sample", a URL)."""
    base = _base(info)
    if value is None or base is None or "://" in value:
        return value
    candidate = Path(resolve_path(value, base))
    return str(candidate) if candidate.exists() else value


ConfigPath = Annotated[str, AfterValidator(_config_path)]
PathOrName = Annotated[str, AfterValidator(_path_or_name)]
