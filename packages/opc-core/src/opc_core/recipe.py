"""Recipes: one YAML file says everything a run does.

    name: tiny                 # recipe name, used in release names and run records
    workdir: work              # local path or s3://bucket/prefix; every stage output lives under it
    seed: 1234
    pipeline: [data, tokenize, pretrain, eval, release]
    schedule: {retrain_cron: "0 3 * * 0"}
    stages:
      data: {...}              # validated by the config model the `data` stage registers
      pretrain: {...}

Each stage package registers a pydantic config model (see ``opc_core.registry``); the whole recipe is
validated before any work starts, and an error names the field (``stages.pretrain.lr: ...``).
Command-line overrides are ``key.sub=value`` (value parsed as YAML), with or without the ``stages.``
prefix: ``pretrain.max_steps=20`` == ``stages.pretrain.max_steps=20``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from opc_core import storage
from opc_core.errors import RecipeError


class Schedule(BaseModel):
    """When the ``retrain`` deployment runs (a cron string in ``timezone``; None = never scheduled), and what
    an incremental retrain redoes (``opc_core.retrain``)."""

    model_config = ConfigDict(extra="forbid")
    retrain_cron: str | None = None
    timezone: str = "UTC"
    retrain_stages: list[str] | None = None
    """Stages a retrain on top of a previous version recomputes, in pipeline order; the others (e.g. recall,
    synth: not about the new dump) are carried over from that version. None = the whole pipeline."""


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str = "0.1.0"
    description: str = ""
    workdir: str = "work"
    seed: int = 0
    pipeline: list[str] = Field(min_length=1)
    schedule: Schedule = Schedule()
    stages: dict[str, dict[str, Any]] = Field(default_factory=dict)

    _configs: dict[str, BaseModel] = PrivateAttr(default_factory=dict)
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file the recipe came from (not part of any content key)."""
        return self._source

    def stage_config(self, stage: str) -> BaseModel:
        if stage not in self._configs:
            raise RecipeError(f"stage {stage!r} has no validated config", where=self._source or self.name)
        return self._configs[stage]

    def resolved(self) -> dict[str, Any]:
        """The recipe with every stage section expanded to its full, defaulted config (saved in manifests)."""
        data = self.model_dump(mode="json")
        data["stages"] = {name: cfg.model_dump(mode="json") for name, cfg in self._configs.items()}
        return data


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise RecipeError(f"override {text!r} is not key=value", hint="write e.g. pretrain.max_steps=20")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise RecipeError(f"override {text!r} has an empty key")
    return parts, yaml.safe_load(raw) if raw.strip() else ""


def apply_overrides(data: dict[str, Any], overrides: list[str], stage_names: set[str],
                    applied: dict[tuple[str, ...], str] | None = None) -> dict[str, Any]:
    """``data`` with each ``key.sub=value`` set; ``applied`` collects (resolved key path -> override as typed)."""
    data = copy.deepcopy(data)
    top_level = set(Recipe.model_fields)
    for text in overrides:
        parts, value = _parse_override(text)
        if parts[0] not in top_level and (parts[0] in stage_names or parts[0] in data.get("stages", {})):
            parts = ["stages", *parts]
        if applied is not None:
            applied[tuple(parts)] = text
        node = data
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise RecipeError(f"override {text!r}: {part!r} is not a section")
            node = nxt
        node[parts[-1]] = value
    return data


def _format_validation_error(exc: ValidationError, prefix: str = "") -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (prefix.split(".") if prefix else []) + list(err["loc"]))
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
        lines.append(f"{loc}: {err['msg']}{got}")
    return "; ".join(lines)


def _raise_invalid(exc: ValidationError, where: str, overrides: dict[tuple[str, ...], str], prefix: str = "",
                   model: type[BaseModel] | None = None) -> None:
    """A RecipeError blaming the command-line override that set a bad field (quoted as typed), else the file."""
    import difflib

    base = tuple(prefix.split(".")) if prefix else ()
    for err in exc.errors():
        loc = (*base, *(str(p) for p in err["loc"]))
        blamed = next((text for path, text in overrides.items() if loc[: len(path)] == path), None)
        if blamed is None:
            continue
        hint = "fix the override (or drop it), then rerun"
        if err["type"] == "extra_forbidden" and model is not None and len(err["loc"]) == 1:
            close = difflib.get_close_matches(str(err["loc"][0]), list(model.model_fields), n=1)
            hint = f"did you mean {'.'.join((*loc[:-1], close[0])).removeprefix('stages.')}?" if close else hint
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
        raise RecipeError(f"{'.'.join(loc)}: {err['msg']}{got}", where=f"command-line override {blamed!r}",
                          hint=hint) from exc
    raise RecipeError(_format_validation_error(exc, prefix), where=where, hint="fix the field named above") from exc


def validate_recipe(data: dict[str, Any], where: str, overrides: dict[tuple[str, ...], str] | None = None) -> Recipe:
    """Validate the recipe shape and every stage section it names; no work is done here.

    ``overrides`` (key path -> override as typed) lets an error blame the command line instead of the file.
    """
    from opc_core.registry import get_stage, stage_names

    overrides = overrides or {}
    if not isinstance(data, dict):
        raise RecipeError("a recipe must be a YAML mapping", where=where)
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        _raise_invalid(exc, where, overrides, model=Recipe)
    known = stage_names()
    redo = recipe.schedule.retrain_stages or []
    if any(s not in recipe.pipeline for s in redo):
        raise RecipeError(f"schedule.retrain_stages {redo} names stages not in the pipeline {recipe.pipeline}",
                          where=where, hint="list only stages of `pipeline`")
    unknown = [s for s in [*recipe.pipeline, *recipe.stages] if s not in known]
    if unknown:
        raise RecipeError(
            f"unknown stage(s) {sorted(set(unknown))}; installed stages are {sorted(known)}",
            where=where,
            hint="check the spelling in `pipeline`/`stages`, or install the package that provides the stage",
        )
    for name in dict.fromkeys([*recipe.pipeline, *recipe.stages]):
        spec = get_stage(name)
        try:
            recipe._configs[name] = spec.config_model.model_validate(recipe.stages.get(name, {}))
        except ValidationError as exc:
            _raise_invalid(exc, where, overrides, prefix=f"stages.{name}", model=spec.config_model)
    recipe._source = where
    return recipe


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read, override and validate a recipe; a relative ``workdir`` is resolved against the cwd."""
    from opc_core.registry import stage_names

    where = str(path)
    try:
        data = yaml.safe_load(storage.read_text(str(path)))
    except FileNotFoundError as exc:
        raise RecipeError("recipe file not found", where=where, hint="pass --recipe recipes/tiny.yaml") from exc
    except yaml.YAMLError as exc:
        raise RecipeError(f"not valid YAML: {exc}", where=where) from exc
    applied: dict[tuple[str, ...], str] = {}
    data = apply_overrides(data or {}, overrides or [], stage_names(), applied)
    recipe = validate_recipe(data, where, applied)
    recipe.workdir = storage.normalize(recipe.workdir)
    return recipe
