"""Project handlers: create, update, move, merge, delete, make_public/make_private.

Every command that changes projects takes the company's project-tree lock first: names are
unique within a company and a rename reaches every descendant, so changes of one company's
tree run one at a time (they are rare; tasks never wait for it). Then the handler reads the
tree (fresh, after the lock), locks every stream it will write (the projects, and the tasks
a merge or a delete moves), loads their heads, decides and appends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from msgspec import UNSET, structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import project_cleanup, projects
from tasktrack.domain import project_names as names
from tasktrack.domain.context import Context
from tasktrack.domain.errors import ProjectNotFound
from tasktrack.domain.models import ARCHIVED, ModelState
from tasktrack.domain.models import stream_of as model_stream
from tasktrack.domain.projects import ProjectNode, Writes
from tasktrack.service.handlers import new_id
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import commandreads, modelrefs, modelrows


class _Tree:
    """The company's projects as the command read them, under the tree lock."""

    def __init__(self, uow: UnitOfWork) -> None:
        company = uow.metadata.company
        uow.lock([f"project-tree:{company}"])
        self.nodes = commandreads.company_projects(uow.conn, company)
        self.by_id = {p.id: p for p in self.nodes}
        self.by_name = {p.name: p for p in self.nodes}

    def get(self, project_id: str) -> ProjectNode:
        node = self.by_id.get(project_id)
        if node is None:
            raise ProjectNotFound(project_id)
        return node

    def descendants(self, project: ProjectNode) -> list[ProjectNode]:
        # Sorted by name: a parent before its children, as the events are appended.
        below = [p for p in self.nodes if names.is_under(p.name, project.name)]
        return sorted(below, key=lambda p: p.name)


def _ids() -> Iterator[str]:
    while True:
        yield new_id()


def _context(uow: UnitOfWork, streams: Sequence[str]) -> Context:
    meta = uow.metadata
    return Context(now=uow.now(streams), user=meta.user, company=meta.company)


def _prepare(uow: UnitOfWork, projects_touched: Sequence[str], tasks: Sequence[str] = ()) -> None:
    """Lock every stream the command may write, then load their heads (before any write)."""
    uow.lock([*projects_touched, *tasks])
    uow.load_heads(projects_touched)
    if tasks:
        uow.load(tasks)


def _write(uow: UnitOfWork, ctx: Context, writes: Writes) -> None:
    for stream_id, events in writes:
        uow.append(stream_id, events, ctx.now)
    uow.project()


def _lock_new(uow: UnitOfWork, writes: Writes, known: set[str]) -> None:
    """Streams a decision creates (new projects) are locked too before the first write."""
    fresh = [s for s, _ in writes if s not in known]
    if fresh:
        uow.lock(fresh)


def destination(
    uow: UnitOfWork, project_id: str | None, name: str | None, system_tags: Sequence[str] = ()
) -> tuple[str | None, Writes]:
    """Where tasks or models move: the project `project_id` (it must exist: 400/401), else the
    project named `name`, created with its missing parents when absent, else no project.

    Takes the company's project-tree lock (before the movers' own locks, the order every
    project command keeps). Returns the project and the writes that create it: the caller locks
    their streams with its own (`new_streams`) and appends them (`append`) before its events.
    """
    tree = _Tree(uow)
    if project_id:
        return tree.get(project_id).id, []
    if not name:
        return None, []
    node, writes = projects.ensure(
        names.clean(name), _context(uow, []), tree.by_name, _ids(), system_tags
    )
    return (node.id if node else None), writes


def new_streams(writes: Writes) -> list[str]:
    return [stream_id for stream_id, _ in writes]


def append(uow: UnitOfWork, writes: Writes) -> None:
    """Append the writes of `destination` (their streams are new: locked by the caller)."""
    for stream_id, events in writes:
        uow.append(stream_id, events, uow.now([stream_id]))


def on_create_project(uow: UnitOfWork, c: cmd.CreateProject) -> Result:
    tree = _Tree(uow)
    ctx = _context(uow, [])
    writes = projects.create(c, ctx, tree.by_name, _ids())
    _lock_new(uow, writes, set())
    _write(uow, ctx, writes)
    return {"id": writes[-1][0]}


def on_update_project(uow: UnitOfWork, c: cmd.UpdateProject) -> Result:
    tree = _Tree(uow)
    project = tree.get(c.project)
    below = tree.descendants(project)
    _prepare(uow, [project.id, *(d.id for d in below)])
    ctx = _context(uow, [project.id])
    writes = projects.update(c, ctx, project, below, tree.by_name)
    _write(uow, ctx, writes)
    fields = {
        k: getattr(c, k)
        for k in ("name", "description", "tags", "system_tags", "default_output_destination")
        if getattr(c, k) is not UNSET
    }
    return {"updated": 1, "fields": fields}


def on_move_project(uow: UnitOfWork, c: cmd.MoveProject) -> Result:
    tree = _Tree(uow)
    project = tree.get(c.project)
    below = tree.descendants(project)
    touched = [project.id, *(d.id for d in below)]
    _prepare(uow, touched)
    ctx = _context(uow, touched)
    moved, writes = projects.move(c, ctx, project, below, existing=tree.by_name, ids=_ids())
    _lock_new(uow, writes, set(touched))
    _write(uow, ctx, writes)
    return {"moved": moved}


def on_merge_project(uow: UnitOfWork, c: cmd.MergeProject) -> Result:
    tree = _Tree(uow)
    source = tree.get(c.project)
    destination = tree.get(c.destination_project) if c.destination_project else None
    below = tree.descendants(source)
    _, unarchived, _ = commandreads.project_tasks(uow.conn, uow.metadata.company, [source.id])
    tasks = unarchived.get(source.id, [])
    touched = [source.id, *(d.id for d in below)]
    _prepare(uow, touched, tasks)
    ctx = _context(uow, [*touched, *tasks])
    answer, writes = projects.merge(
        c, ctx, source, below, destination, tasks=tasks, existing=tree.by_name
    )
    _write(uow, ctx, writes)
    return answer


def _project_models(uow: UnitOfWork, project_ids: list[str]) -> list[ModelState]:
    """The models of these projects, locked and loaded (their rows are their streams' heads).
    Read, locked, then read again: a model that left the projects meanwhile is not theirs."""
    company = uow.metadata.company
    ids = commandreads.project_models(uow.conn, company, project_ids)
    uow.lock([model_stream(i) for i in ids])
    found: list[ModelState] = []
    for model_id, row in sorted(modelrows.load(uow.conn, company, ids).items()):
        if row.state.deleted or row.state.project not in project_ids:
            continue
        uow.heads[model_stream(model_id)] = row.head
        uow.head_times[model_stream(model_id)] = row.head_at
        found.append(row.state)
    return found


def _with_models(
    contents: dict[str, projects.Contents], models: list[ModelState]
) -> dict[str, projects.Contents]:
    counts: dict[str, int] = {}
    for m in models:
        if m.project is not None and ARCHIVED not in m.system_tags:
            counts[m.project] = counts.get(m.project, 0) + 1
    return {
        p: structs.replace(contents.get(p, projects.Contents()), models=counts.get(p, 0))
        for p in {*contents, *counts}
    }


def on_delete_project(uow: UnitOfWork, c: cmd.DeleteProject) -> Result:
    tree = _Tree(uow)
    project = tree.get(c.project)
    below = tree.descendants(project)
    touched = [project.id, *(d.id for d in below)]
    contents, _, tasks = commandreads.project_tasks(uow.conn, uow.metadata.company, touched)
    outside = _outside(uow, touched, tasks) if c.delete_contents else []
    _prepare(uow, touched, [*tasks, *outside])
    models = _project_models(uow, touched)
    ctx = _context(uow, [*touched, *tasks, *outside, *(model_stream(m.id) for m in models)])
    answer, writes = projects.delete(
        c,
        ctx,
        project,
        below,
        contents=_with_models(contents, models),
        all_tasks=[] if c.delete_contents else tasks,
        all_models=[] if c.delete_contents else [m.id for m in models],
    )
    if c.delete_contents:
        company = uow.metadata.company
        mine = [uow.states[t] for t in tasks if t in uow.states]
        around = {
            t: state
            for t in outside
            if (state := uow.states.get(t)) is not None
            and state.visible_to(company)
            and not state.public
            and state.project not in touched
        }
        cleared, cleanup = project_cleanup.delete_contents(ctx, mine, models, around)
        answer = {**answer, **cleared}
        writes = [*cleanup, *writes]
    _write(uow, ctx, writes)
    return answer


def _outside(uow: UnitOfWork, projects_touched: list[str], tasks: list[str]) -> list[str]:
    """The tasks outside the projects a delete_contents may mend (read before the locks):
    children of their tasks, and the tasks that made or take their models."""
    company = uow.metadata.company
    model_ids = commandreads.project_models(uow.conn, company, projects_touched)
    rows = modelrows.load(uow.conn, company, model_ids)
    found = set(commandreads.children(uow.conn, company, tasks)) if tasks else set()
    found |= {r.state.task for r in rows.values() if r.state.task}
    for users in modelrefs.input_users(uow.conn, company, model_ids).values():
        found |= set(users)
    return sorted(found - set(tasks))


def _visibility(uow: UnitOfWork, ids: list[str], public: bool) -> Result:
    tree = _Tree(uow)
    found = {i: tree.by_id[i] for i in ids if i in tree.by_id}
    _prepare(uow, list(found))
    ctx = _context(uow, list(found))
    updated, writes = projects.visibility(ids, ctx, found, public)
    _write(uow, ctx, writes)
    return {"updated": updated}


def on_make_public(uow: UnitOfWork, c: cmd.MakeProjectsPublic) -> Result:
    return _visibility(uow, c.ids, True)


def on_make_private(uow: UnitOfWork, c: cmd.MakeProjectsPrivate) -> Result:
    return _visibility(uow, c.ids, False)


def company_tree(uow: UnitOfWork) -> _Tree:
    """The company's projects, read under its project-tree lock (taken here, first)."""
    return _Tree(uow)


def new_ids() -> Iterator[str]:
    """Fresh ids for the projects a decision creates."""
    return _ids()
