"""The rules of reports, pure: where a report lives, and what a published one still lets
change."""

from __future__ import annotations

import pytest
from msgspec import structs

from tasktrack.domain import events as ev
from tasktrack.domain import report_docs
from tasktrack.domain.errors import InvalidTaskStatus
from tasktrack.domain.evolve import fold
from tasktrack.domain.report_commands import CreateReport, UpdateReport
from tasktrack.domain.report_docs import NotAReport
from tasktrack.domain.state import TaskState
from tests.unit.domain_builders import TASK_ID, ctx


@pytest.mark.parametrize(
    ("project", "home"),
    [
        ("", ".reports"),
        ("a/b", "a/b/.reports"),
        (" a / b/", "a/b/.reports"),
        ("a/.reports", "a/.reports"),
    ],
)
def test_a_report_lives_in_its_projects_reports_project(project: str, home: str) -> None:
    assert report_docs.reports_project_name(project) == home


def _report(status: str = "created") -> TaskState:
    events = report_docs.create(CreateReport(name="rep", report="text"), ctx(), TASK_ID, "p1")
    state = fold(events)
    assert state is not None
    return structs.replace(state, status=status)


def test_a_new_report_is_a_hidden_report_task_with_its_text() -> None:
    state = _report()
    assert (state.type, state.system_tags, state.project) == ("report", ["hidden", "reports"], "p1")
    assert state.report == "text"


def test_a_published_report_changes_name_tags_and_comment_only() -> None:
    published = _report("published")
    renamed = report_docs.update(published, UpdateReport(task=TASK_ID, name="new name"), ctx())
    assert isinstance(renamed[0], ev.TaskUpdated)
    assert renamed[0].changes.name == "new name"
    with pytest.raises(InvalidTaskStatus):
        report_docs.update(published, UpdateReport(task=TASK_ID, report="x"), ctx())
    with pytest.raises(InvalidTaskStatus):
        report_docs.update(published, UpdateReport(task=TASK_ID, report_assets=[]), ctx())


def test_an_empty_update_writes_nothing_and_a_plain_task_is_refused() -> None:
    assert report_docs.update(_report(), UpdateReport(task=TASK_ID), ctx()) == []
    plain = structs.replace(_report(), type="training")
    with pytest.raises(NotAReport) as refused:
        report_docs.update(plain, UpdateReport(task=TASK_ID, comment="c"), ctx())
    assert refused.value.codes == (400, 150)


def test_only_an_emptied_reports_project_goes() -> None:
    assert report_docs.emptied("p", ".reports", 0)
    assert not report_docs.emptied("p", ".reports", 1)
    assert not report_docs.emptied("p", "reports", 0)
    assert not report_docs.emptied(None, ".reports", 0)
