"""Decisions about projects: create (with missing parents), update, move, merge, delete.

Pure: each takes the projects the command reads (a `ProjectNode` each) and returns the events to
append, per stream (`Writes`). A project's descendants are the projects whose names lie under
its name; every name change of a project is also written to each descendant's stream, so each
stream alone tells its project's names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import msgspec
from msgspec import UNSET

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import project_names as names
from tasktrack.domain.context import Context
from tasktrack.domain.editing import clean_tags
from tasktrack.domain.errors import (
    CannotUpdateProjectLocation,
    ExpectedUniqueData,
    NoWritePermission,
    ProjectCannotBeMergedIntoItsChild,
    ProjectCannotBeMovedUnderItself,
    ProjectHasDatasets,
    ProjectHasModels,
    ProjectHasPipelines,
    ProjectHasTasks,
    ProjectNotFound,
    ProjectSourceAndDestinationAreTheSame,
)
from tasktrack.domain.models import stream_of as model_stream

# (stream id, its events), in the order they are appended.
Writes = list[tuple[str, list[ev.AnyEvent]]]

PIPELINE_TAG = "pipeline"
DATASET_TAG = "dataset"
# The folders ClearML's SDK keeps pipelines and datasets in: not pipelines or datasets themselves.
_CONTAINERS = {PIPELINE_TAG: ".pipelines", DATASET_TAG: ".datasets"}


class ProjectNode(msgspec.Struct, frozen=True, kw_only=True):
    """What a decision needs to know of a project."""

    id: str
    name: str
    parent: str | None = None
    public: bool = False
    system_tags: list[str] = []


class Contents(msgspec.Struct, frozen=True, kw_only=True):
    """How many unarchived tasks a project holds itself, how many of them are pipeline
    controllers, and how many unarchived models it holds."""

    tasks: int = 0
    controllers: int = 0
    models: int = 0


def clean_project_name(name: str) -> str:
    return names.clean(name)


def writable(project: ProjectNode | None, project_id: str) -> ProjectNode:
    """The project, if it exists; a public one is read-only (403/21, as ClearML)."""
    if project is None:
        raise ProjectNotFound(project_id)
    if project.public:
        raise NoWritePermission(
            f"forbidden (modification not allowed): project {project_id} is public", id=project_id
        )
    return project


def _unique(name: str, existing: Mapping[str, ProjectNode]) -> None:
    found = existing.get(name)
    if found is not None:
        raise ExpectedUniqueData(
            f"Project name already exists: {name!r} (id={found.id})", name=name, id=found.id
        )


# --- creation -------------------------------------------------------------------------------


def ensure(
    name: str,
    ctx: Context,
    existing: Mapping[str, ProjectNode],
    ids: Iterator[str],
    system_tags: Sequence[str] = (),
) -> tuple[ProjectNode | None, Writes]:
    """The project of this (clean) name, created with every missing ancestor if need be
    ("" is the top level: None). `existing` holds the company's projects by name;
    `system_tags` go to the project itself if it is created (a report's `.reports`)."""
    if not name:
        return None, []
    writes: Writes = []
    parent: ProjectNode | None = None
    for level in [*names.ancestors(name), name]:
        node = existing.get(level)
        if node is None:
            node = ProjectNode(id=next(ids), name=level, parent=parent.id if parent else None)
            writes.append(
                (
                    node.id,
                    [
                        ev.ProjectCreated(
                            at=ctx.now,
                            by=ctx.user,
                            project_id=node.id,
                            company=ctx.company,
                            name=level,
                            system_tags=list(system_tags) if level == name else [],
                            parent=node.parent,
                        )
                    ],
                )
            )
        parent = node
    return parent, writes


def create(
    c: cmd.CreateProject, ctx: Context, existing: Mapping[str, ProjectNode], ids: Iterator[str]
) -> Writes:
    """A new project and its missing ancestors (`a/b/c` creates `a` and `a/b`, as ClearML).
    `existing` holds the projects of the company named like it or like one of its ancestors."""
    name = names.clean(c.name)
    _unique(name, existing)
    parent, writes = ensure(names.location(name), ctx, existing, ids)
    project_id = next(ids)
    writes.append(
        (
            project_id,
            [
                ev.ProjectCreated(
                    at=ctx.now,
                    by=ctx.user,
                    project_id=project_id,
                    company=ctx.company,
                    name=name,
                    description=c.description,
                    tags=clean_tags(c.tags),
                    system_tags=clean_tags(c.system_tags, "system_tags"),
                    default_output_destination=c.default_output_destination,
                    parent=parent.id if parent else None,
                )
            ],
        )
    )
    return writes


# --- update, move -----------------------------------------------------------------------------


def _renamed_descendants(
    ctx: Context, project: ProjectNode, new_name: str, descendants: Sequence[ProjectNode]
) -> Writes:
    return [
        (
            d.id,
            [
                ev.ProjectRenamed(
                    at=ctx.now,
                    by=ctx.user,
                    project_id=d.id,
                    old_name=d.name,
                    name=names.rebase(d.name, project.name, new_name),
                    cause=project.id,
                )
            ],
        )
        for d in descendants
    ]


def update(
    c: cmd.UpdateProject,
    ctx: Context,
    project: ProjectNode,
    descendants: Sequence[ProjectNode],
    existing: Mapping[str, ProjectNode],
) -> Writes:
    """Descriptive fields, and a new basename; the location cannot change here (400/408).
    `existing` holds the company's project of the new name, if any."""
    writable(project, c.project)
    events: list[ev.AnyEvent] = []
    edited = ev.ProjectEdited(
        at=ctx.now,
        by=ctx.user,
        project_id=project.id,
        description=c.description,
        tags=UNSET if c.tags is UNSET else clean_tags(c.tags),
        system_tags=UNSET if c.system_tags is UNSET else clean_tags(c.system_tags, "system_tags"),
        default_output_destination=c.default_output_destination,
    )
    fields = (c.description, c.tags, c.system_tags, c.default_output_destination)
    if any(v is not UNSET for v in fields):
        events.append(edited)
    writes: Writes = []
    if c.name is not UNSET and c.name:
        new_name = names.clean(c.name)
        if names.location(new_name) != names.location(project.name):
            raise CannotUpdateProjectLocation(
                f"Cannot update project location, use projects.move instead: {new_name!r}",
                name=new_name,
            )
        if new_name != project.name:
            _unique(new_name, existing)
            events.append(
                ev.ProjectRenamed(
                    at=ctx.now,
                    by=ctx.user,
                    project_id=project.id,
                    old_name=project.name,
                    name=new_name,
                )
            )
            writes = _renamed_descendants(ctx, project, new_name, descendants)
    return [(project.id, events), *writes] if events else writes


def _relocated(
    ctx: Context,
    project: ProjectNode,
    descendants: Sequence[ProjectNode],
    parent: ProjectNode | None,
    *,
    existing: Mapping[str, ProjectNode],
    cause: str | None = None,
) -> Writes:
    """`project` and its descendants under `parent`, keeping the basename."""
    new_name = names.join(parent.name if parent else "", names.basename(project.name))
    _unique(new_name, existing)
    moved = ev.ProjectMoved(
        at=ctx.now,
        by=ctx.user,
        project_id=project.id,
        old_name=project.name,
        name=new_name,
        old_parent=project.parent,
        parent=parent.id if parent else None,
        cause=cause,
    )
    return [(project.id, [moved]), *_renamed_descendants(ctx, project, new_name, descendants)]


def move(
    c: cmd.MoveProject,
    ctx: Context,
    project: ProjectNode,
    descendants: Sequence[ProjectNode],
    *,
    existing: Mapping[str, ProjectNode],
    ids: Iterator[str],
) -> tuple[int, Writes]:
    """The project and its descendants under `new_location` (created if new): (how many
    projects moved, writes). `existing` holds the company's projects by name."""
    writable(project, c.project)
    where = names.clean(c.new_location) if c.new_location and c.new_location.strip("/ ") else ""
    if where == project.name or names.is_under(where, project.name):
        raise ProjectCannotBeMovedUnderItself(
            f"Project can not be moved under itself: {where!r}", project=project.id
        )
    if where == names.location(project.name):
        raise ProjectSourceAndDestinationAreTheSame(
            f"Project is already at {where!r}", location=where
        )
    parent, created = ensure(where, ctx, existing, ids)
    if parent is not None and parent.public:
        writable(parent, parent.id)
    return 1 + len(descendants), created + _relocated(
        ctx, project, descendants, parent, existing=existing
    )


# --- merge, delete --------------------------------------------------------------------------


def _task_moves(ctx: Context, tasks: Sequence[str], project: str | None) -> Writes:
    """Tasks written into another project (None: none), each on its own stream."""
    return [
        (t, [ev.TaskUpdated(at=ctx.now, by=ctx.user, changes=ev.TaskChanges(project=project))])
        for t in tasks
    ]


def merge(
    c: cmd.MergeProject,
    ctx: Context,
    source: ProjectNode,
    descendants: Sequence[ProjectNode],
    destination: ProjectNode | None,
    *,
    tasks: Sequence[str],
    existing: Mapping[str, ProjectNode],
) -> tuple[dict[str, int], Writes]:
    """The source's unarchived `tasks` and its children into `destination`; the source ends.
    Answers {moved_entities, moved_projects} and the writes."""
    writable(source, c.project)
    if destination is not None:
        if destination.id == source.id:
            raise ProjectSourceAndDestinationAreTheSame(
                "Project has the same source and destination", source=source.id
            )
        writable(destination, destination.id)
        if names.is_under(destination.name, source.name):
            raise ProjectCannotBeMergedIntoItsChild(
                "Project can not be merged into its own child",
                source=source.id,
                destination=destination.id,
            )
    children = [d for d in descendants if d.parent == source.id]
    writes: Writes = []
    for child in children:
        below = [d for d in descendants if names.is_under(d.name, child.name)]
        writes += _relocated(ctx, child, below, destination, existing=existing, cause=source.id)
    target = destination.id if destination else None
    writes += _task_moves(ctx, tasks, target)
    merged = ev.ProjectMerged(
        at=ctx.now,
        by=ctx.user,
        project_id=source.id,
        destination=target,
        moved_tasks=len(tasks),
        moved_projects=len(children),
    )
    writes.append((source.id, [merged]))
    return {"moved_entities": len(tasks), "moved_projects": len(children)}, writes


def kind(project: ProjectNode) -> str | None:
    """ "pipeline" or "dataset" for a project that is one (not the folder that holds them)."""
    for tag, container in _CONTAINERS.items():
        if tag in project.system_tags and names.basename(project.name) != container:
            return tag
    return None


def delete_check(
    projects: Sequence[ProjectNode], contents: Mapping[str, Contents]
) -> dict[str, int]:
    """What stands in the way of deleting these projects (a project and its descendants),
    counted as projects.validate_delete answers: the unarchived tasks and models of plain
    projects, pipelines with unarchived controllers, datasets with unarchived versions."""
    pipelines = datasets = tasks = models = 0
    for p in projects:
        own = contents.get(p.id, Contents())
        kind_of = kind(p)
        if kind_of == PIPELINE_TAG:
            pipelines += own.controllers > 0
        elif kind_of == DATASET_TAG:
            datasets += own.tasks > 0
        else:
            tasks += own.tasks
            models += own.models
    return {
        "pipelines": pipelines,
        "datasets": datasets,
        "non_archived_tasks": tasks,
        "non_archived_models": models,
    }


def delete(
    c: cmd.DeleteProject,
    ctx: Context,
    project: ProjectNode,
    descendants: Sequence[ProjectNode],
    *,
    contents: Mapping[str, Contents],
    all_tasks: Sequence[str],
    all_models: Sequence[str] = (),
) -> tuple[dict[str, int], Writes]:
    """The project and its descendants end; every one of their tasks and models (`all_tasks`,
    `all_models`: model ids, archived ones included) loses its project. Without force,
    unarchived tasks or models, pipelines with unarchived controllers and datasets with
    versions refuse it (as ClearML)."""
    writable(project, c.project)
    every = [project, *descendants]
    if not c.force:
        check = delete_check(every, contents)
        if check["pipelines"]:
            raise ProjectHasPipelines(
                "project has associated pipelines with active controllers: please archive "
                "all the controllers or use force=true",
                id=project.id,
            )
        if check["datasets"]:
            raise ProjectHasDatasets(
                "project has associated non-empty datasets: please delete all the dataset "
                "versions or use force=true",
                id=project.id,
            )
        if check["non_archived_tasks"]:
            raise ProjectHasTasks("project has associated tasks: use force=true", id=project.id)
        if check["non_archived_models"]:
            raise ProjectHasModels("project has associated models: use force=true", id=project.id)
    writes = _task_moves(ctx, all_tasks, None)
    writes += [
        (model_stream(m), [ev.ModelMoved(at=ctx.now, by=ctx.user, project=None)])
        for m in all_models
    ]
    for p in every:
        cause = None if p.id == project.id else project.id
        writes.append(
            (p.id, [ev.ProjectDeleted(at=ctx.now, by=ctx.user, project_id=p.id, cause=cause)])
        )
    answer = {
        "deleted": len(every),
        "disassociated_tasks": len(all_tasks),
        "deleted_models": 0,
        "deleted_tasks": 0,
    }
    return answer, writes


def visibility(
    ids: Sequence[str], ctx: Context, found: Mapping[str, ProjectNode], public: bool
) -> tuple[int, Writes]:
    """make_public / make_private: (how many changed, writes). make_private of a project that
    is not public is 400/401, as ClearML (it only turns back what this company published)."""
    writes: Writes = []
    for project_id in dict.fromkeys(ids):
        node = found.get(project_id)
        if node is None or (not public and not node.public):
            raise ProjectNotFound(project_id)
        if node.public != public:
            change = ev.ProjectVisibilityChanged(
                at=ctx.now, by=ctx.user, project_id=project_id, public=public
            )
            writes.append((project_id, [change]))
    return len(writes), writes
