"""Project names and the pure decisions about nested projects (domain/projects.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import project_names as names
from tasktrack.domain import projects
from tasktrack.domain.context import Context
from tasktrack.domain.errors import (
    CannotUpdateProjectLocation,
    ExpectedUniqueData,
    InvalidProjectName,
    NoWritePermission,
    ProjectCannotBeMovedUnderItself,
    ProjectHasModels,
    ProjectHasPipelines,
    ProjectHasTasks,
)
from tasktrack.domain.projects import Contents, ProjectNode

CTX = Context(now=datetime(2026, 1, 1, tzinfo=UTC), user="alice", company="c1")


def _ids(prefix: str = "n") -> Iterator[str]:
    return iter(f"{prefix}{i}" for i in range(100))


def test_names_are_cleaned_and_a_lone_slash_is_refused() -> None:
    assert names.clean(" a// b /c ") == "a/b/c"
    with pytest.raises(InvalidProjectName):
        names.clean("/")
    assert names.ancestors("a/b/c") == ["a", "a/b"]
    assert names.rebase("a/b/c", "a/b", "x") == "x/c"
    assert not names.is_under("ab/c", "a")


def test_create_makes_every_missing_ancestor_with_its_parent() -> None:
    existing = {"a": ProjectNode(id="A", name="a")}
    writes = projects.create(cmd.CreateProject(name="a/b/c"), CTX, existing, _ids())
    created = [e for _, events in writes for e in events]
    assert [(e.name, e.parent) for e in created if isinstance(e, ev.ProjectCreated)] == [
        ("a/b", "A"),
        ("a/b/c", "n0"),
    ]
    with pytest.raises(ExpectedUniqueData):
        projects.create(cmd.CreateProject(name="a"), CTX, existing, _ids())


def test_update_renames_descendants_and_refuses_a_new_location() -> None:
    top = ProjectNode(id="A", name="r/a")
    child = ProjectNode(id="B", name="r/a/b", parent="A")
    writes = projects.update(cmd.UpdateProject(project="A", name="r/z"), CTX, top, [child], {})
    assert [(s, e.name) for s, es in writes for e in es if isinstance(e, ev.ProjectRenamed)] == [
        ("A", "r/z"),
        ("B", "r/z/b"),
    ]
    with pytest.raises(CannotUpdateProjectLocation):
        projects.update(cmd.UpdateProject(project="A", name="q/a"), CTX, top, [child], {})
    public = ProjectNode(id="A", name="r/a", public=True)
    with pytest.raises(NoWritePermission):
        projects.update(cmd.UpdateProject(project="A", name="r/y"), CTX, public, [], {})


def test_move_refuses_to_go_under_itself() -> None:
    top = ProjectNode(id="A", name="a")
    with pytest.raises(ProjectCannotBeMovedUnderItself):
        projects.move(
            cmd.MoveProject(project="A", new_location="a/x"),
            CTX,
            top,
            [],
            existing={"a": top},
            ids=_ids(),
        )


def test_delete_needs_force_for_unarchived_tasks_and_active_pipelines() -> None:
    top = ProjectNode(id="A", name="a")
    pipe = ProjectNode(id="P", name="a/.pipelines/p", system_tags=["pipeline"])
    c = cmd.DeleteProject(project="A")
    with pytest.raises(ProjectHasTasks):
        projects.delete(c, CTX, top, [], contents={"A": Contents(tasks=1)}, all_tasks=["t"])
    with pytest.raises(ProjectHasPipelines):
        projects.delete(
            c, CTX, top, [pipe], contents={"P": Contents(tasks=1, controllers=1)}, all_tasks=[]
        )
    answer, writes = projects.delete(
        cmd.DeleteProject(project="A", force=True),
        CTX,
        top,
        [],
        contents={"A": Contents(tasks=1)},
        all_tasks=["t"],
    )
    assert answer["deleted"] == 1
    assert answer["disassociated_tasks"] == 1
    assert (
        "t",
        [ev.TaskUpdated(at=CTX.now, by="alice", changes=ev.TaskChanges(project=None))],
    ) in writes


def test_delete_needs_force_for_unarchived_models_of_plain_projects_and_moves_models_out() -> None:
    top = ProjectNode(id="A", name="a")
    data = ProjectNode(id="D", name="a/.datasets/d", system_tags=["dataset"])
    c = cmd.DeleteProject(project="A")
    with pytest.raises(ProjectHasModels):
        projects.delete(
            c, CTX, top, [], contents={"A": Contents(models=1)}, all_tasks=[], all_models=["m"]
        )
    # Tasks are checked before models, as ClearML.
    with pytest.raises(ProjectHasTasks):
        projects.delete(c, CTX, top, [], contents={"A": Contents(tasks=1, models=1)}, all_tasks=[])
    # Models of a dataset project are not counted (ClearML counts plain projects only).
    check = projects.delete_check([top, data], {"D": Contents(models=2), "A": Contents()})
    assert check["non_archived_models"] == 0
    answer, writes = projects.delete(
        c, CTX, top, [], contents={"A": Contents()}, all_tasks=[], all_models=["m"]
    )
    assert (answer["deleted"], answer["disassociated_tasks"]) == (1, 0)
    assert ("model:m", [ev.ModelMoved(at=CTX.now, by="alice", project=None)]) in writes
