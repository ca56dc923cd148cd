"""A task's hyperparameters and configuration as the lists ClearML's get_hyper_params,
get_configurations and get_configuration_names answer (items ordered by section and name:
the stored maps keep no insertion order)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy import Connection, select

from tasktrack.domain.errors import TaskNotFound
from tasktrack.domain.values import ConfigItem, ParamItem
from tasktrack.store.tables import tasks


class TaskParams(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    hyperparams: list[ParamItem]


class TaskConfiguration(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    configuration: list[ConfigItem]


class TaskConfigurationNames(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    names: list[str]


def _documents(
    conn: Connection, company: str, ids: Sequence[str], column: str
) -> list[tuple[str, dict[str, object]]]:
    """(id, document) per asked task, in the order asked; an unknown id is 400/101."""
    rows = dict(
        conn.execute(
            select(tasks.c.id, tasks.c[column]).where(
                tasks.c.company == company, tasks.c.id.in_(list(ids))
            )
        ).all()
    )
    for task_id in ids:
        if task_id not in rows:
            raise TaskNotFound(task_id)
    return [(task_id, rows[task_id] or {}) for task_id in dict.fromkeys(ids)]


def hyper_params(conn: Connection, company: str, ids: Sequence[str]) -> list[TaskParams]:
    out = []
    for task_id, doc in _documents(conn, company, ids, "hyperparams"):
        sections = msgspec.convert(doc, dict[str, dict[str, ParamItem]])
        items = [sections[s][n] for s in sorted(sections) for n in sorted(sections[s])]
        out.append(TaskParams(task=task_id, hyperparams=items))
    return out


def _configuration(doc: dict[str, object]) -> dict[str, ConfigItem]:
    return msgspec.convert(doc, dict[str, ConfigItem])


def configurations(
    conn: Connection, company: str, ids: Sequence[str], names: Sequence[str] | None = None
) -> list[TaskConfiguration]:
    out = []
    for task_id, doc in _documents(conn, company, ids, "configuration"):
        items = _configuration(doc)
        wanted = sorted(items) if not names else [n for n in sorted(items) if n in set(names)]
        out.append(TaskConfiguration(task=task_id, configuration=[items[n] for n in wanted]))
    return out


def configuration_names(
    conn: Connection, company: str, ids: Sequence[str], skip_empty: bool = True
) -> list[TaskConfigurationNames]:
    out = []
    for task_id, doc in _documents(conn, company, ids, "configuration"):
        items = _configuration(doc)
        names = [n for n in sorted(items) if not skip_empty or items[n].value]
        out.append(TaskConfigurationNames(task=task_id, names=names))
    return out
