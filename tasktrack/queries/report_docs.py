"""Reading reports: the tags of the company's reports, and the `.reports` projects that
hold the reports of given projects (reports.get_tags, reports.get_all_ex)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, false, func, or_, select

from tasktrack.store.tables import projects, tasks

REPORTS_PROJECT = ".reports"


def report_tags(conn: Connection, company: str) -> list[str]:
    """Every tag of the company's reports, sorted."""
    tag = func.unnest(tasks.c.tags).label("tag")
    inner = select(tag).where(tasks.c.company == company, tasks.c.type == "report").subquery()
    rows = conn.execute(select(inner.c.tag).distinct().order_by(inner.c.tag))
    return [r[0] for r in rows]


def reports_projects(conn: Connection, company: str, wanted: Sequence[str | None]) -> list[str]:
    """The `.reports` projects among `wanted` or directly under one of them (None: the top
    level), as ClearML brings a report listing's projects one level down."""
    ids = [p for p in wanted if p is not None]
    placed: list[ColumnElement[bool]] = [false()]
    if ids:
        placed = [projects.c.parent.in_(ids), projects.c.id.in_(ids)]
    if None in wanted:
        placed.append(projects.c.parent.is_(None))
    named = or_(
        projects.c.name == REPORTS_PROJECT,
        projects.c.name.endswith(f"/{REPORTS_PROJECT}", autoescape=True),
    )
    rows = conn.execute(
        select(projects.c.id)
        .where(projects.c.company == company, named, or_(*placed))
        .order_by(projects.c.id)
    )
    return [r[0] for r in rows]
