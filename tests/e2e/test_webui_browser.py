"""ClearML's web UI, built from the vendored source and served by `tasktrack serve --ui`, driven
in headless Chromium as an analyst uses it: log in, the projects page, a project's task table,
a task's console and scalars. Each page must show the seeded tasks (names, statuses, users),
raise no error toast, and no API call may answer an error. Screenshots go to
test-artifacts/webui/ (fixtures: tests/e2e/webui.py).

Needs a built UI (TASKTRACK_WEBUI_DIR, which .ci/run sets after ../shared/clearml-web/build.sh,
or that script's cache), the `playwright` package and a Chromium on PATH. On a developer's
machine without them the tests are skipped, saying which is missing; in CI (CI set) they fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import Engine, text

from tests.e2e.http import Api
from tests.e2e.webui import COOKIE, WAIT_MS, Browser, Seeded


def test_login_gives_an_http_only_session_cookie(logged_in: Browser) -> None:
    cookies = {c["name"]: c for c in logged_in.page.context.cookies()}
    assert COOKIE in cookies
    assert cookies[COOKIE]["httpOnly"] is True
    assert cookies[COOKIE]["sameSite"] == "Strict"
    # The page's scripts cannot read it.
    assert COOKIE not in logged_in.page.evaluate("document.cookie")
    logged_in.assert_clean()


def test_dashboard_lists_recent_projects_and_everyones_recent_tasks(
    logged_in: Browser, seeded: Seeded
) -> None:
    # Its task list asks with `"user": null` (everyone's): bob's task is there too.
    logged_in.open("/dashboard", "vision", "resnet sweep", "bert finetune", "data prep")
    logged_in.shot("1-dashboard")
    logged_in.assert_clean()


def test_projects_page_shows_the_project_with_its_statistics(
    logged_in: Browser, seeded: Seeded
) -> None:
    logged_in.open("/projects", "vision")
    logged_in.shot("1-projects-page")
    card = logged_in.page.locator("sm-project-card, .project-card", has_text="vision").first
    text = card.inner_text()
    assert "TOTAL" in text.upper()
    assert "3" in text.split(), text  # three tasks in the project
    logged_in.assert_clean()


def test_task_table_shows_names_statuses_and_users(logged_in: Browser, seeded: Seeded) -> None:
    logged_in.open(
        f"/projects/{seeded.project}/experiments", "resnet sweep", "bert finetune", "data prep"
    )
    logged_in.shot("2-task-table")
    text = logged_in.text()
    for shown in ("Completed", "Failed", "Running", "alice", "bob"):
        assert shown in text, shown
    assert "Unknown User" not in text
    # One row per task: nothing repeated.
    assert text.count("resnet sweep") == 1
    logged_in.assert_clean()


def test_task_console_shows_its_log_lines(logged_in: Browser, seeded: Seeded) -> None:
    task = seeded.tasks["resnet sweep"]
    logged_in.open(
        f"/projects/{seeded.project}/experiments/{task}/info-output/log",
        "epoch 10 of resnet sweep done",
    )
    logged_in.shot("3-console")
    assert "gpu-box-1" in logged_in.text()
    logged_in.assert_clean()


def test_task_scalars_draw_the_loss_series(logged_in: Browser, seeded: Seeded) -> None:
    task = seeded.tasks["resnet sweep"]
    logged_in.open(f"/projects/{seeded.project}/experiments/{task}/info-output/metrics/scalar")
    logged_in.page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)
    logged_in.page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("4-scalars")
    # Plotly draws each series as a trace named by its variant, in a chart titled by metric.
    names = logged_in.page.evaluate(
        "Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".flatMap(p => (p.data || []).map(t => t.name))"
    )
    assert {"train", "val"} <= set(names), names
    assert "loss" in logged_in.text()
    logged_in.assert_clean()


def test_task_details_show_execution_and_configuration(logged_in: Browser, seeded: Seeded) -> None:
    task = f"/projects/{seeded.project}/experiments/{seeded.tasks['resnet sweep']}"
    logged_in.open(f"{task}/execution", "https://example.com/vision.git", "train.py")
    logged_in.shot("5-execution")
    logged_in.assert_clean()
    logged_in.open(f"{task}/hyper-params/hyper-param/Args", "0.0125")
    logged_in.shot("6-hyperparameters")
    text = logged_in.text()
    assert "lr" in text
    assert "epochs" in text
    logged_in.assert_clean()
    logged_in.open(f"{task}/hyper-params/configuration/General", "batch_size: 32")
    logged_in.shot("7-configuration-object")
    logged_in.assert_clean()
    logged_in.open(f"{task}/general", "resnet sweep")
    logged_in.shot("8-info")
    assert "alice" in logged_in.text()
    logged_in.assert_clean()


def test_queues_page_shows_the_queue_and_its_waiting_task(
    logged_in: Browser, seeded: Seeded
) -> None:
    logged_in.open("/workers-and-queues/queues", "gpu-queue")
    logged_in.page.get_by_text("gpu-queue").first.click()
    # The next task in the queue's row, and the queue's waiting line in its side panel.
    logged_in.page.get_by_text("nightly eval").nth(1).wait_for(timeout=WAIT_MS)
    logged_in.page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("12-queues")
    logged_in.assert_clean()


def test_aborting_in_the_ui_is_a_status_change_by_the_logged_in_user(
    logged_in: Browser, seeded: Seeded
) -> None:
    task = seeded.tasks["data prep"]  # bob's running task; alice aborts it
    logged_in.open(f"/projects/{seeded.project}/experiments", "data prep")
    page = logged_in.page
    page.locator("tr", has_text="data prep").first.click(button="right")
    page.locator(".mat-mdc-menu-item", has_text="Abort").first.click()
    dialog = page.locator("mat-dialog-container")
    dialog.first.wait_for(timeout=WAIT_MS)
    logged_in.shot("13-abort-confirm")
    dialog.locator("button", has_text=re.compile("abort", re.IGNORECASE)).last.click()
    dialog.first.wait_for(state="hidden", timeout=WAIT_MS)
    page.locator("tr", has_text="data prep").get_by_text("Aborted").wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("14-after-abort")
    # The row took the answer's changed times: started and updated both show ("... ago").
    row = page.locator("tr", has_text="data prep").first.inner_text()
    assert row.count(" ago") >= 2, row
    history = seeded.api.ok("tasks.get_status_history", {"task": task})["history"]
    assert history[-1]["from_status"] == "in_progress"
    assert history[-1]["to_status"] == "stopped"
    assert history[-1]["user"] == "alice"
    assert history[0]["user"] == "bob"
    logged_in.assert_clean()


def test_comparing_two_tasks_draws_both_in_one_chart(logged_in: Browser, seeded: Seeded) -> None:
    ids = f"{seeded.tasks['resnet sweep']},{seeded.tasks['bert finetune']}"
    logged_in.open(f"/projects/{seeded.project}/compare-tasks;ids={ids}/scalars/graph")
    logged_in.page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)
    logged_in.page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("9-compare-scalars")
    # One trace per task in each chart, named by the task.
    names = logged_in.page.evaluate(
        "Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".flatMap(p => (p.data || []).map(t => t.name))"
    )
    assert {"resnet sweep", "bert finetune"} <= set(names), names
    logged_in.assert_clean()


def test_archiving_in_the_ui_is_an_event_by_the_logged_in_user(
    logged_in: Browser, seeded: Seeded, e2e_engine: Engine
) -> None:
    task = seeded.tasks["bert finetune"]  # bob's task; alice archives it
    logged_in.open(f"/projects/{seeded.project}/experiments", "bert finetune")
    page = logged_in.page
    logged_in.watch_notices()
    page.locator("tr", has_text="bert finetune").first.click(button="right")
    page.locator(".mat-mdc-menu-item", has_text="Archive").first.click()
    page.get_by_text("bert finetune").first.wait_for(state="hidden", timeout=WAIT_MS)
    # The UI says so in a success toast (the same notifier its error toasts use).
    logged_in.wait_notice("success", "archived")
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("10-after-archive")
    assert "resnet sweep" in logged_in.text()
    with e2e_engine.connect() as conn:
        kind, metadata = conn.execute(
            text(
                "SELECT type, metadata FROM events WHERE stream_id LIKE :stream"
                " ORDER BY stream_version DESC LIMIT 1"
            ),
            {"stream": f"%{task}"},
        ).one()
    assert kind == "TaskArchived"
    assert metadata["user"] == "alice"
    # The archive shows it.
    page.get_by_text("OPEN ARCHIVE", exact=False).first.click()
    page.get_by_text("bert finetune").first.wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("11-archive")
    assert "resnet sweep" not in logged_in.text()
    logged_in.assert_clean()


def test_logging_out_ends_the_session(
    logged_in: Browser, seeded: Seeded, new_caller: Callable[..., Api]
) -> None:
    cookie = next(c for c in logged_in.page.context.cookies() if c["name"] == COOKIE)
    response = logged_in.page.request.post(
        logged_in.base + "/api/v999.0/login.logout",
        data="{}",
        headers={"Content-Type": "application/json"},
    )
    assert response.ok
    assert all(c["name"] != COOKIE for c in logged_in.page.context.cookies())
    # The old token is refused even if a copy of it is presented again.
    replay = logged_in.page.request.post(
        logged_in.base + "/api/v999.0/users.get_current_user",
        data="{}",
        headers={"Content-Type": "application/json", "Cookie": f"{COOKIE}={cookie['value']}"},
    )
    assert replay.status == 401
