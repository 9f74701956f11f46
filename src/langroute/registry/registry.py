"""The model registry: the built-in catalog plus whatever users add or override."""

from __future__ import annotations

import datetime as dt
import difflib
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from langroute.errors import ConfigError, UnknownModelError, without_url_passwords
from langroute.registry.spec import ModelSpec, ProviderSpec


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into `base` (nested tables merge; everything else replaces)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _explain(
    where: str, error: ValidationError, model: type[BaseModel] | None = None
) -> ConfigError:
    """One line per problem, naming the field; a table missing the key that says which kind
    it is (`type`) gets the kinds `model` allows there."""
    lines = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(root)"
        if item["type"] == "extra_forbidden":
            near = _closest(str(item["loc"][-1]), _keys_at(model, item["loc"][:-1]))
            hint = f"did you mean {near!r}?" if near else "remove it or check its spelling"
            lines.append(f"  {field}: unknown key; {hint}")
        elif item["type"] == "union_tag_not_found":
            key = str(item.get("ctx", {}).get("discriminator", "type")).strip("'")
            kinds = _kinds(model, item["loc"], key) if model is not None else []
            one_of = f": one of {', '.join(map(repr, kinds))}" if kinds else ""
            lines.append(f"  {field}: needs a {key!r} key naming its kind{one_of}")
        else:
            shown = without_url_passwords(repr(item.get("input")))
            lines.append(f"  {field}: {item['msg']} (got {shown})")
    return ConfigError(f"invalid {where}:\n" + "\n".join(lines))


def _tables(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation may hold: itself, or inside Optional, unions, lists, dicts."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [table for arg in get_args(annotation) for table in _tables(arg)]


def _keys_at(model: type[BaseModel] | None, loc: Sequence[int | str]) -> list[str]:
    """The keys the table at `loc` in `model` takes: through fields, list items and the
    kinds of a tagged union (which pydantic names in `loc` by their tag)."""
    tables = [] if model is None else [model]
    for part in loc:
        if isinstance(part, int):
            continue  # a list item: the same tables
        inner = [t for t in tables if part in t.model_fields]
        if inner:
            tables = [x for t in inner for x in _tables(t.model_fields[part].annotation)]
        else:  # the tag of a union member: the member whose `type` allows it
            field = "type"
            tables = [
                t
                for t in tables
                if field in t.model_fields and part in get_args(t.model_fields[field].annotation)
            ]
    return sorted({key for t in tables for key in t.model_fields})


def unknown_keys(fields: Mapping[str, Any], model: type[BaseModel]) -> list[str]:
    """Each key of `fields` that `model` has no field for, with the field it may have meant:
    "'pricng' (did you mean 'pricing'?)"."""
    known = sorted(model.model_fields)
    return [
        f"{key!r}" + (f" (did you mean {near!r}?)" if (near := _closest(key, known)) else "")
        for key in fields
        if key not in model.model_fields
    ]


def _closest(key: str, known: Sequence[str]) -> str | None:
    matches = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    return matches[0] if matches else None


def _kinds(model: type[BaseModel], loc: tuple[int | str, ...], key: str) -> list[str]:
    """The values of `key` that the tagged union at `loc` in `model` accepts."""
    annotation: Any = model
    for part in loc:
        fields = getattr(annotation, "model_fields", None)
        if not isinstance(fields, dict) or part not in fields:
            return []
        annotation = fields[part].annotation
    kinds: list[str] = []
    for member in get_args(annotation):
        field = getattr(member, "model_fields", {}).get(key)
        if field is not None:
            kinds += [str(a) for a in get_args(field.annotation)]
    return kinds


def read_data_file(path: str | Path, what: str) -> Any:
    """A TOML or YAML file's data; a `ConfigError` names the file and, for a syntax error,
    where it is (never the text, which may hold secrets)."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        here = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
        raise ConfigError(f"{what} not found: {path}{here}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read {what} {path}: {reason}") from None
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ConfigError(
                f"{path}: reading YAML needs PyYAML; install langroute[yaml]"
            ) from None
        try:
            return yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or "syntax error"
            raise ConfigError(f"{path}: not valid YAML{at}: {problem}") from None
    raise ConfigError(f"{path}: unknown file type {path.suffix!r}; use .toml or .yaml")


class Registry:
    """Models and providers by name. Later definitions override earlier ones field by field."""

    def __init__(
        self,
        models: Iterable[ModelSpec] = (),
        providers: Mapping[str, ProviderSpec] | None = None,
        as_of: dt.date | None = None,
    ) -> None:
        self._models: dict[str, ModelSpec] = {m.name: m for m in models}
        self.providers: dict[str, ProviderSpec] = dict(providers or {})
        self.as_of = as_of

    # --- construction -------------------------------------------------------------

    @classmethod
    def builtin(cls) -> Registry:
        """The catalog shipped with langroute (see `catalog.toml` for dates and sources).

        A fresh copy each call: changing it never changes another router's registry.
        """
        return _builtin().copy()

    def load_file(self, path: str | Path) -> Registry:
        """Add or override models and providers from a TOML or YAML file; returns self."""
        data = read_data_file(path, "models file")
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a table with 'models' and/or 'providers'")
        return self.load_data(data, where=str(path))

    def load_data(self, data: Mapping[str, Any], *, where: str = "configuration") -> Registry:
        """Add or override from parsed data: `{"models": [...], "providers": {...}}`."""
        unknown = set(data) - {"models", "providers", "as_of"}
        if unknown:
            raise ConfigError(
                f"invalid {where}: unknown top-level key(s) {sorted(unknown)}; "
                "expected 'models', 'providers' and optionally 'as_of'"
            )
        if "as_of" in data:
            self.as_of = data["as_of"]
        for name, raw in (data.get("providers") or {}).items():
            try:
                self.providers[name] = ProviderSpec.model_validate(raw)
            except ValidationError as exc:
                raise _explain(f"{where}, provider {name!r}", exc, ProviderSpec) from None
        for index, raw in enumerate(data.get("models") or []):
            if not isinstance(raw, Mapping) or "name" not in raw:
                raise ConfigError(f"invalid {where}: models[{index}] needs a 'name'")
            self.override(raw["name"], raw, where=f"{where}, models[{index}] ({raw['name']!r})")
        return self

    def register(self, spec: ModelSpec) -> ModelSpec:
        """Add a model, or replace the one with the same name."""
        self._models[spec.name] = spec
        return spec

    def override(
        self, name: str, fields: Mapping[str, Any], *, where: str | None = None
    ) -> ModelSpec:
        """Change some fields of a known model (nested tables merge), or add a new one."""
        base = self._models[name].model_dump(exclude_unset=True) if name in self._models else {}
        merged = _merge(base, {**fields, "name": name})
        try:
            spec = ModelSpec.model_validate(merged)
        except ValidationError as exc:
            raise _explain(where or f"model {name!r}", exc, ModelSpec) from None
        return self.register(spec)

    # --- look-up -----------------------------------------------------------------

    def get(self, name: str) -> ModelSpec:
        try:
            return self._models[name]
        except KeyError:
            raise UnknownModelError(name, list(self._models)) from None

    def select(self, names: Iterable[str]) -> list[ModelSpec]:
        """The specs of `names`, in that order; an unknown name lists the known ones."""
        return [self.get(n) for n in names]

    def provider(self, name: str) -> ProviderSpec:
        try:
            return self.providers[name]
        except KeyError:
            raise ConfigError(
                f"unknown provider {name!r}; known providers: {', '.join(sorted(self.providers))}."
                " Add one under [providers.<name>] with kind, base_url and api_key_env."
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    @property
    def names(self) -> list[str]:
        return list(self._models)

    def copy(self) -> Registry:
        return Registry(self._models.values(), self.providers, self.as_of)


@lru_cache(maxsize=1)
def _builtin() -> Registry:
    text = resources.files("langroute.registry").joinpath("catalog.toml").read_text("utf-8")
    return Registry().load_data(tomllib.loads(text), where="built-in catalog")
