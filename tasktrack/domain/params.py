"""Decisions on hyper parameters, configuration, artifacts and models (SEMANTICS §3)."""

from __future__ import annotations

from msgspec import UNSET, structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain.context import Context
from tasktrack.domain.errors import ConflictingFields, InvalidRequest, InvalidTaskStatus
from tasktrack.domain.state import TaskState
from tasktrack.domain.values import ConfigItem, ModelType, ParamItem

PROPERTIES_SECTION = "properties"


def _require_params_status(state: TaskState, force: bool, sections: set[str]) -> None:
    """Created; or created and in_progress with force. Edits of `properties` only skip this."""
    if sections and sections <= {PROPERTIES_SECTION}:
        return
    if state.status == "created" or (force and state.status == "in_progress"):
        return
    raise InvalidTaskStatus(
        f"Invalid task status: current_status={state.status}, expected created"
        + ("" if force else " (or in_progress with force)"),
        current_status=state.status,
    )


def _require_run_status(state: TaskState, what: str) -> None:
    """Artifacts and models change only in created and in_progress, whatever force says."""
    if state.status not in ("created", "in_progress"):
        raise InvalidTaskStatus(
            f"Invalid task status: current_status={state.status}, {what} can only be changed "
            "in created or in_progress",
            current_status=state.status,
        )


def _section(name: str) -> str:
    """As ClearML: the user properties' section in any case (`Properties`) is `properties`."""
    return PROPERTIES_SECTION if name.lower() == PROPERTIES_SECTION else name


def _param_key(item: ParamItem) -> tuple[str, str]:
    if not isinstance(item.section, str) or not isinstance(item.name, str):
        raise InvalidRequest(
            "Validation error: every hyperparams item needs a section and a name",
            field="hyperparams",
        )
    return _section(item.section), item.name


def edit_hyper_params(state: TaskState, c: cmd.EditHyperParams, ctx: Context) -> list[ev.AnyEvent]:
    given: dict[str, dict[str, ParamItem]] = {}
    for item in c.hyperparams:
        section, name = _param_key(item)
        given.setdefault(section, {})[name] = structs.replace(item, section=section)
    _require_params_status(state, c.force, set(given))
    if not given and c.replace_hyperparams != "all":
        return []
    current = state.hyperparams or {}
    sections: dict[str, dict[str, ParamItem] | None] = {}
    for section, items in given.items():
        if c.replace_hyperparams == "none":
            sections[section] = {**current.get(section, {}), **items}
        else:
            sections[section] = items
    return [
        ev.HyperParamsChanged(
            at=ctx.now,
            by=ctx.user,
            sections=sections,
            replaced_all=c.replace_hyperparams == "all",
            force=c.force,
        )
    ]


def delete_hyper_params(
    state: TaskState, c: cmd.DeleteHyperParams, ctx: Context
) -> list[ev.AnyEvent]:
    """Remove sections (items without name) or parameters; a section both ways: 400/15."""
    whole = {_section(k.section) for k in c.hyperparams if k.name is UNSET}
    names = {(_section(k.section), k.name) for k in c.hyperparams if isinstance(k.name, str)}
    clash = sorted(section for section, _ in names if section in whole)
    if clash:
        raise ConflictingFields(
            f"Conflicting fields: section {clash[0]!r} is deleted whole and by name",
            section=clash[0],
        )
    _require_params_status(state, c.force, whole | {s for s, _ in names})
    current = state.hyperparams or {}
    sections: dict[str, dict[str, ParamItem] | None] = {
        section: None for section in sorted(whole) if section in current
    }
    for section, name in sorted(names):
        kept = sections.get(section, current.get(section))
        if kept is not None and name in kept:
            sections[section] = {n: i for n, i in kept.items() if n != name}
    if not sections:
        return []
    return [ev.HyperParamsChanged(at=ctx.now, by=ctx.user, sections=sections, force=c.force)]


def edit_configuration(
    state: TaskState, c: cmd.EditConfiguration, ctx: Context
) -> list[ev.AnyEvent]:
    _require_params_status(state, c.force, set())
    items: dict[str, ConfigItem | None] = {}
    for item in c.configuration:
        if not isinstance(item.name, str):
            raise InvalidRequest(
                "Validation error: every configuration item needs a name", field="configuration"
            )
        items[item.name] = item
    if not items and not c.replace_configuration:
        return []
    return [
        ev.ConfigurationChanged(
            at=ctx.now,
            by=ctx.user,
            items=items,
            replaced_all=c.replace_configuration,
            force=c.force,
        )
    ]


def delete_configuration(
    state: TaskState, c: cmd.DeleteConfiguration, ctx: Context
) -> list[ev.AnyEvent]:
    _require_params_status(state, c.force, set())
    current = state.configuration or {}
    gone: dict[str, ConfigItem | None] = {name: None for name in c.configuration if name in current}
    if not gone:
        return []
    return [ev.ConfigurationChanged(at=ctx.now, by=ctx.user, items=gone, force=c.force)]


def add_or_update_artifacts(
    state: TaskState, c: cmd.AddOrUpdateArtifacts, ctx: Context
) -> list[ev.AnyEvent]:
    _require_run_status(state, "artifacts")
    if not c.artifacts:
        return []
    by_id = {(a.key, a.mode): a for a in c.artifacts}  # a repeated (key, mode): the last wins
    return [ev.ArtifactsUpserted(at=ctx.now, by=ctx.user, artifacts=list(by_id.values()))]


def delete_artifacts(state: TaskState, c: cmd.DeleteArtifacts, ctx: Context) -> list[ev.AnyEvent]:
    _require_run_status(state, "artifacts")
    execution = state.execution
    existing = set()
    if execution is not None and execution.artifacts is not UNSET:
        existing = {(a.key, a.mode) for a in execution.artifacts}
    gone = [a for a in c.artifacts if (a.key, a.mode) in existing]
    if not gone:
        return []
    unique = list({(a.key, a.mode): a for a in gone}.values())
    return [ev.ArtifactsDeleted(at=ctx.now, by=ctx.user, artifacts=unique)]


def add_or_update_model(
    state: TaskState, c: cmd.AddOrUpdateModel, ctx: Context
) -> list[ev.AnyEvent]:
    _require_run_status(state, "models")
    return [
        ev.ModelUpserted(
            at=ctx.now,
            by=ctx.user,
            name=c.name,
            model=c.model,
            model_type=c.type,
            iteration=c.iteration,
            in_place=True,
        )
    ]


def delete_models(state: TaskState, c: cmd.DeleteModels, ctx: Context) -> list[ev.AnyEvent]:
    _require_run_status(state, "models")
    events: list[ev.AnyEvent] = []
    kinds: tuple[ModelType, ...] = ("input", "output")
    for kind in kinds:
        models = state.models
        present = getattr(models, kind) if models is not None else UNSET
        names = {m.name for m in ([] if present is UNSET else present)}
        wanted = sorted({k.name for k in c.models if k.type == kind} & names)
        if wanted:
            events.append(ev.ModelsDeleted(at=ctx.now, by=ctx.user, names=wanted, model_type=kind))
    return events
