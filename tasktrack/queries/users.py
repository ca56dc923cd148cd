"""Users, as ClearML shapes them: tasktrack has no sign-up, a user is whoever a credential of
the company names (`tasktrack credentials create --company C --user U`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Connection, select, union

from tasktrack.domain.errors import UserNotFound
from tasktrack.queries.project_contents import with_children
from tasktrack.store.tables import credentials, models, projects, tasks


def user_view(company: str, user_id: str) -> dict[str, Any]:
    """One user: its id is its name too (credentials carry no names)."""
    return {
        "id": user_id,
        "name": user_id,
        "given_name": user_id,
        "family_name": "",
        "company": {"id": company, "name": company},
        "role": "user",
        "email": "",
        "preferences": {},
    }


def company_users(
    conn: Connection, company: str, ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The company's users (every user a credential names, revoked ones too: they still own
    tasks), by id."""
    stmt = select(credentials.c.user_id).where(credentials.c.company == company).distinct()
    if ids:
        stmt = stmt.where(credentials.c.user_id.in_(list(ids)))
    found = sorted(r[0] for r in conn.execute(stmt))
    return [user_view(company, u) for u in found]


def user_by_id(conn: Connection, company: str, user_id: str) -> dict[str, Any]:
    found = company_users(conn, company, [user_id])
    if not found:
        raise UserNotFound(user_id)
    return found[0]


def active_users(
    conn: Connection, company: str, project_ids: Sequence[str], ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """users.get_all_ex active_in_projects: the company's users who created one of these
    projects (or one below them), or a task or model in them (every project: none given)."""
    scope = with_children(conn, company, project_ids) if project_ids else None
    found = []
    for table, column in (
        (projects, projects.c.id),
        (tasks, tasks.c.project),
        (models, models.c.project),
    ):
        stmt = select(table.c.user_id).where(table.c.company == company)
        if scope is not None:
            stmt = stmt.where(column.in_(scope))
        found.append(stmt)
    active = {r[0] for r in conn.execute(union(*found))}
    if ids:
        active &= set(ids)
    return company_users(conn, company, sorted(active)) if active else []


def entity_users(
    conn: Connection,
    company: str,
    entity: Literal["task", "model"],
    project_ids: Sequence[str] | None,
    include_subprojects: bool = True,
) -> list[dict[str, str]]:
    """projects.get_user_names: {id, name} of the company's users who created the tasks (or
    models) of these projects (and of those below them), by name."""
    table = tasks if entity == "task" else models
    stmt = select(table.c.user_id).where(table.c.company == company).distinct()
    if project_ids:
        scope = with_children(conn, company, project_ids) if include_subprojects else project_ids
        stmt = stmt.where(table.c.project.in_(list(scope)))
    creators = sorted(r[0] for r in conn.execute(stmt))
    known = company_users(conn, company, creators) if creators else []
    return sorted(({"id": u["id"], "name": u["name"]} for u in known), key=lambda u: u["name"])
