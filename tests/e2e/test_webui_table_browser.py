"""ClearML's web UI on tasktrack, the experiment table as an analyst works it: 64 tasks in a
project of their own (more than two of the UI's 30-row pages), sorted by a column, filtered by
status, type, user and tag from the column menus, scrolled to the end (no row repeated, none
missing), a hyperparameter and a metric column added; a tag added and a task restored from the
archive in the UI (each an event by the logged-in user); the workers page with a live worker
and the queues page's statistics. Screenshots go to test-artifacts/webui/ (fixtures:
tests/e2e/webui.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine

from tasktrack.store import credentials
from tests.e2e.http import Api, basic
from tests.e2e.webui import WAIT_MS, Browser, Rows, Seeded, header, last_event, tick

COUNT = 64
TYPES = ("training", "testing", "data_processing")
NAME = re.compile(r"\bsweep-\d\d\b")
ROWS = Rows(NAME, COUNT, page=30)


def _width(i: int) -> str:
    """A hyperparameter value per task, a permutation of 0..63 zero-padded (so the string order
    the UI sorts hyperparameters by is the numeric one)."""
    return f"{(i * 37) % COUNT:03d}"


def _loss(i: int) -> float:
    return ((i * 29) % COUNT) / 10


@dataclass
class Sweep:
    """The table's project: task i is `sweep-ii`, by alice (even i) or carol (odd i)."""

    api: Api  # alice's
    project: str
    ids: dict[str, str] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    type: dict[str, str] = field(default_factory=dict)
    user: dict[str, str] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def sweep(seeded: Seeded, ui_base: str, e2e_engine: Engine) -> Iterator[Sweep]:
    with e2e_engine.begin() as conn:
        made = credentials.create(conn, seeded.company, "carol")
    carol = Api(ui_base, basic(made.access_key, made.secret_key))
    alice = seeded.api
    project = alice.ok("projects.create", {"name": "sweeps", "description": "a grid"})["id"]
    found = Sweep(alice, project)
    for i in range(COUNT):
        who, user = (alice, "alice") if i % 2 == 0 else (carol, "carol")
        name = f"sweep-{i:02d}"
        tags = ["baseline"] if i % 5 == 0 else []
        fields = {
            "name": name,
            "type": TYPES[i % 3],
            "project": project,
            "tags": tags,
            "hyperparams": {
                "Args": {"width": {"section": "Args", "name": "width", "value": _width(i)}}
            },
        }
        task = who.ok("tasks.create", fields)["id"]
        status = ("created", "in_progress", "completed", "failed")[i % 4]
        if status != "created":
            who.ok("tasks.started", {"task": task})
            scalar = {"type": "training_stats_scalar", "metric": "loss", "variant": "total"}
            who.ok("events.add", {"task": task, **scalar, "value": _loss(i), "iter": 0})
        if status == "completed":
            who.ok("tasks.completed", {"task": task})
        elif status == "failed":
            who.ok("tasks.failed", {"task": task, "status_reason": "diverged"})
        found.ids[name], found.status[name], found.type[name] = task, status, TYPES[i % 3]
        found.user[name], found.tags[name] = user, tags
    try:
        yield found
    finally:
        carol.close()


def _table(browser: Browser, sweep: Sweep, query: str = "") -> None:
    browser.open(f"/projects/{sweep.project}/experiments{query}", "sweep-")


def test_scrolling_shows_every_task_once(logged_in: Browser, sweep: Sweep) -> None:
    _table(logged_in, sweep)
    first = ROWS.shown(logged_in)
    assert len(first) == 30, first  # one page of the UI
    shown = ROWS.all(logged_in)
    logged_in.shot("20-table-scrolled")
    assert len(shown) == len(set(shown)), sorted(n for n in shown if shown.count(n) > 1)
    assert set(shown) == set(sweep.ids), sorted(set(sweep.ids) - set(shown))
    # The default order: the last updated first (the tasks were changed in index order).
    assert shown == sorted(sweep.ids, reverse=True)
    logged_in.assert_clean()


def test_sorting_by_name_orders_the_rows(logged_in: Browser, sweep: Sweep) -> None:
    _table(logged_in, sweep)
    sort = header(logged_in, "Name").locator("[data-id=sortTableColumn]")
    sort.click()  # the UI's first click sorts descending
    logged_in.page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    descending = ROWS.wait(logged_in, sorted(sweep.ids, reverse=True))
    assert descending == sorted(sweep.ids, reverse=True), descending
    sort.click()
    logged_in.page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    ascending = ROWS.wait(logged_in, sorted(sweep.ids))
    logged_in.shot("21-table-sorted-by-name")
    assert ascending == sorted(sweep.ids), ascending
    logged_in.assert_clean()


@pytest.mark.parametrize(
    ("column", "option", "matches"),
    [
        ("Status", "Completed", lambda s, n: s.status[n] == "completed"),
        ("Type", "Testing", lambda s, n: s.type[n] == "testing"),
        ("User", "carol", lambda s, n: s.user[n] == "carol"),
        ("Tags", "baseline", lambda s, n: "baseline" in s.tags[n]),
    ],
)
def test_filtering_by_a_column_menu_shows_exactly_the_matching_rows(
    logged_in: Browser, sweep: Sweep, column: str, option: str, matches: Any
) -> None:
    _table(logged_in, sweep, "?order=name")
    tick(logged_in, column, option)
    wanted = sorted(n for n in sweep.ids if matches(sweep, n))
    shown = ROWS.wait(logged_in, wanted)
    logged_in.shot(f"23-table-filter-{column.lower()}")
    assert shown == wanted
    tick(logged_in, column, option)
    if column == "Tags":
        # A tag's second tick excludes it: every other task.
        others = sorted(set(sweep.ids) - set(wanted))
        assert ROWS.wait(logged_in, others) == others
        tick(logged_in, column, option)
    # Unticked, every task is back (the UI keeps a project's filters between visits).
    assert ROWS.wait(logged_in, sorted(sweep.ids)) == sorted(sweep.ids)
    logged_in.assert_clean()


def _customize(browser: Browser, section: str) -> None:
    """Open the table's "customize columns" menu at its hyperparameter or metric section."""
    page = browser.page
    page.locator("[data-id=CustomizeColumn] button").first.click()
    page.locator(f"[data-id='{section} Button']").first.click()
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    browser.shot(f"24-customize-{section.lower()}")


def _cells(browser: Browser, title: str) -> dict[str, str]:
    """{task name: what the column titled `title` shows} over the rows on the page."""
    index = browser.page.evaluate(
        """t => Array.from(document.querySelectorAll('thead th'))
              .findIndex(th => th.innerText.trim().toLowerCase() === t.toLowerCase())""",
        title,
    )
    assert index >= 0, f"no column {title!r}"
    cells = browser.page.evaluate(
        """i => Array.from(document.querySelectorAll('tbody tr'))
              .map(tr => [tr.innerText, tr.children[i] ? tr.children[i].innerText : ''])""",
        index,
    )
    return {m.group(0): cell.strip() for row, cell in cells if (m := NAME.search(row))}


def _column(browser: Browser, title: str) -> dict[str, str]:
    """_cells once the column's values have arrived (the UI draws a new column before it
    fetches the rows again with its field): at most WAIT_MS."""
    deadline = time.monotonic() + WAIT_MS / 1000
    shown = _cells(browser, title)
    while not any(shown.values()) and time.monotonic() < deadline:
        browser.page.wait_for_timeout(300)
        shown = _cells(browser, title)
    return shown


def test_a_hyperparameter_column_shows_each_tasks_value_and_sorts(
    logged_in: Browser, sweep: Sweep
) -> None:
    _table(logged_in, sweep)
    _customize(logged_in, "Hyperparameters")
    page = logged_in.page
    param = page.locator("sm-grouped-checked-filter-list .item", has_text="width").first
    for _ in range(3):  # the section opens on a click the menu may still be settling from
        page.locator("[data-id=expansionPanelHeader]", has_text="Args").first.click()
        page.wait_for_timeout(500)
        if param.is_visible():
            break
    param.click()
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    page.keyboard.press("Escape")
    header(logged_in, "Args.width").wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    shown = _column(logged_in, "Args.width")
    assert len(shown) == 30
    assert all(shown[n] == _width(int(n[-2:])) for n in shown), shown
    # Sorted by it (the first click descends): the widths from the top.
    header(logged_in, "Args.width").locator("[data-id=sortTableColumn]").click()
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    by_width = sorted(sweep.ids, key=lambda n: _width(int(n[-2:])), reverse=True)
    ordered = ROWS.wait(logged_in, by_width)
    header(logged_in, "Args.width").scroll_into_view_if_needed()
    logged_in.shot("24-table-hyperparameter-column")
    assert ordered == by_width
    logged_in.assert_clean()


def test_a_metric_column_shows_each_tasks_last_value(logged_in: Browser, sweep: Sweep) -> None:
    _table(logged_in, sweep, "?order=name")
    _customize(logged_in, "Metric")
    page = logged_in.page
    page.locator("input[placeholder='Search metric']").fill("total")  # opens the matching metrics
    variant = page.locator("sm-select-metric-for-custom-col .variant-label", has_text="total")
    variant.first.wait_for(timeout=WAIT_MS)
    variant.first.click()
    # Its last value (the variant's checkbox opens LAST / MIN / MAX).
    page.locator("[data-id=selectLastMetricCheckbox]").first.click()
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("25-metric-chosen")
    page.keyboard.press("Escape")
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    titles = page.locator("thead th").all_inner_texts()
    title = next((t.strip() for t in titles if "total" in t.lower()), None)
    assert title is not None, titles
    shown = _column(logged_in, title)
    header(logged_in, title).scroll_into_view_if_needed()
    logged_in.shot("25-table-metric-column")
    reported = {n: _loss(int(n[-2:])) for n in shown if sweep.status[n] != "created"}
    assert reported
    for name, value in reported.items():
        assert float(shown[name]) == pytest.approx(value), (name, shown[name])
    logged_in.assert_clean()


def test_adding_a_tag_in_the_ui_is_an_event_by_the_logged_in_user(
    logged_in: Browser, sweep: Sweep, e2e_engine: Engine
) -> None:
    name = "sweep-07"  # carol's task; alice tags it
    _table(logged_in, sweep, "?order=name")
    page = logged_in.page
    page.locator("tr", has_text=name).first.click(button="right")
    # Its submenu opens on hover (a click could close it again), as a mouse opens it.
    page.locator("[data-id='Add Tag Option']").first.hover()
    field = page.locator(".tags-menu input[placeholder='Add Tag']")
    field.wait_for(timeout=WAIT_MS)
    field.fill("promising")
    page.locator(".tags-menu [data-id=createNewTag]").first.click()
    page.locator("tr", has_text=name).get_by_text("promising").wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("26-tag-added")
    assert last_event(e2e_engine, sweep.ids[name]) == ("TaskTagsUpdated", "alice")
    [task] = sweep.api.ok("tasks.get_all", {"id": [sweep.ids[name]]})["tasks"]
    assert task["tags"] == ["promising"]
    # The tag filter offers it and finds exactly that task.
    tick(logged_in, "Tags", "promising")
    assert ROWS.wait(logged_in, [name]) == [name]
    logged_in.shot("27-tag-filter")
    tick(logged_in, "Tags", "promising")  # excluded
    tick(logged_in, "Tags", "promising")  # no filter
    logged_in.assert_clean()


def test_restoring_from_the_archive_is_an_event_by_the_logged_in_user(
    logged_in: Browser, sweep: Sweep, e2e_engine: Engine
) -> None:
    name = "sweep-09"  # carol's; she archives it, alice restores it in the UI
    task = sweep.ids[name]
    sweep.api.ok("tasks.archive_many", {"ids": [task]})
    _table(logged_in, sweep, "?order=name")
    page = logged_in.page
    assert name not in ROWS.all(logged_in)
    page.get_by_text("OPEN ARCHIVE", exact=False).first.click()
    page.locator("tr", has_text=name).first.wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("28-archive-before-restore")
    page.locator("tr", has_text=name).first.click(button="right")
    page.locator(".mat-mdc-menu-item", has_text="Restore").first.click()
    page.locator("tr", has_text=name).first.wait_for(state="hidden", timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("29-archive-after-restore")
    assert last_event(e2e_engine, task) == ("TaskUnarchived", "alice")
    _table(logged_in, sweep, "?order=name")
    assert name in ROWS.all(logged_in)
    logged_in.shot("30-table-after-restore")
    logged_in.assert_clean()


def test_workers_page_shows_a_live_worker_and_its_task(logged_in: Browser, sweep: Sweep) -> None:
    api = sweep.api
    queue = api.ok("queues.get_all", {"name": "gpu-queue"})["queues"][0]["id"]
    running = sweep.ids["sweep-01"]  # in progress
    api.ok("workers.register", {"worker": "gpu-box-7", "queues": [queue]})
    now = int(time.time() * 1000)
    for back in (60, 30, 0):
        stats = {"cpu_usage": [35.0, 45.0], "memory_used": 2048.0, "gpu_usage": [80.0]}
        body = {"worker": "gpu-box-7", "task": running, "queue": queue, "machine_stats": stats}
        api.ok("workers.status_report", {**body, "timestamp": now - back * 1000})
    logged_in.open("/workers-and-queues/workers", "gpu-box-7", "sweep-01")
    page = logged_in.page
    page.get_by_text("gpu-box-7").first.click()
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    page.locator(".js-plotly-plot, sm-line-chart, canvas, svg.main-svg").first.wait_for(
        timeout=WAIT_MS
    )
    logged_in.shot("31-workers")
    text_shown = logged_in.text()
    assert "gpu-box-7" in text_shown
    assert "sweep-01" in text_shown
    logged_in.assert_clean()


def test_queues_page_shows_the_queues_statistics(logged_in: Browser, sweep: Sweep) -> None:
    logged_in.open("/workers-and-queues/queues", "gpu-queue")
    page = logged_in.page
    page.get_by_text("gpu-queue").first.click()
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    page.locator(".js-plotly-plot, sm-line-chart, canvas, svg.main-svg").first.wait_for(
        timeout=WAIT_MS
    )
    logged_in.shot("32-queue-stats")
    logged_in.assert_clean()


def test_renaming_and_describing_in_the_ui_are_events_by_the_logged_in_user(
    logged_in: Browser, sweep: Sweep, e2e_engine: Engine
) -> None:
    """The details header's inline name edit and its description menu: each save is an event
    of the task's stream by the user logged in (alice), though the task is carol's."""
    name, renamed = "sweep-11", "sweep-11 renamed in the ui"
    task = sweep.ids[name]
    logged_in.open(f"/projects/{sweep.project}/experiments/{task}/execution", name)
    page = logged_in.page
    page.locator("sm-experiment-info-header .edit-name .value").first.click()
    field = page.locator("sm-experiment-info-header .edit-name input.inline-edit-input").first
    field.wait_for(timeout=WAIT_MS)
    field.fill(renamed)
    field.press("Enter")
    page.locator("sm-experiment-info-header", has_text=renamed).first.wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("33-renamed")
    kind, user = last_event(e2e_engine, task)
    assert (kind, user) in {("TaskEdited", "alice"), ("TaskUpdated", "alice")}
    [row] = sweep.api.ok("tasks.get_all", {"id": [task]})["tasks"]
    assert row["name"] == renamed
    logged_in.assert_clean()
