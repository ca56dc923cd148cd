"""ClearML's web UI, built from the vendored source and served by `tasktrack serve --ui`, driven
in headless Chromium as an analyst uses it: log in, the projects page, a project's task table,
a task's console and scalars. Each page must show the seeded tasks (names, statuses, users),
raise no error toast, and no API call may answer an error. Screenshots go to
test-artifacts/webui/.

Needs a built UI (TASKTRACK_WEBUI_DIR, which .ci/run sets after ../shared/clearml-web/build.sh,
or that script's cache), the `playwright` package and a Chromium on PATH. On a developer's
machine without them the tests are skipped, saying which is missing; in CI (CI set) they fail.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tasktrack.store import credentials
from tests.e2e.http import Api, basic, serving

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "webui"
COOKIE = "clearml_token_basic"
# The UI's error and warning toasts (its notifier) and its dialogs (error alerts among them).
ERROR_UI = ".notifier__notification--error, .notifier__notification--warn, mat-dialog-container"
WAIT_MS = 30_000


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _built_ui() -> Path:
    given = os.environ.get("TASKTRACK_WEBUI_DIR")
    cache = Path(
        os.environ.get("CLEARML_WEB_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "clearml-web-build"
    )
    for candidate in filter(None, (given, cache / "build" / "browser")):
        if (Path(candidate) / "index.html").is_file():
            return Path(candidate)
    _missing(
        "no built ClearML web UI: run ../shared/clearml-web/build.sh DIR and set "
        "TASKTRACK_WEBUI_DIR=DIR (.ci/run does)"
    )
    raise AssertionError("unreachable")


def _chromium() -> str:
    found = next(filter(None, map(shutil.which, BROWSERS)), None)
    if found is None:
        _missing(f"no Chromium on PATH ({', '.join(BROWSERS)}): apt-get install chromium")
    assert found is not None
    return found


# What each seeded task carries for the details tabs (execution, configuration).
DETAILS = {
    "script": {
        "repository": "https://example.com/vision.git",
        "branch": "main",
        "entry_point": "train.py",
    },
    "hyperparams": {
        "Args": {
            "lr": {"section": "Args", "name": "lr", "value": "0.0125", "type": "float"},
            "epochs": {"section": "Args", "name": "epochs", "value": "10", "type": "int"},
        }
    },
    "configuration": {
        "General": {"name": "General", "value": "batch_size: 32\nseed: 7", "type": "yaml"}
    },
}


class Seeded:
    """What the tests put in: a project, three tasks by two users, and alice's key pair."""

    def __init__(self, api: Api, bob: Api, access_key: str, secret_key: str) -> None:
        self.access_key, self.secret_key = access_key, secret_key
        self.api = api
        # A queue with a task waiting in it (in a project of its own).
        infra = api.ok("projects.create", {"name": "infra", "description": "jobs"})["id"]
        waiting = api.ok(
            "tasks.create", {"name": "nightly eval", "type": "testing", "project": infra}
        )
        api.ok("tasks.enqueue", {"task": waiting["id"], "queue_name": "gpu-queue"})
        self.project = api.ok("projects.create", {"name": "vision", "description": "models"})["id"]
        self.tasks: dict[str, str] = {}
        runs = (
            (api, "resnet sweep", "training", "completed"),
            (bob, "bert finetune", "training", "failed"),
            (bob, "data prep", "data_processing", None),
        )
        for who, name, kind, end in runs:
            fields = {"name": name, "type": kind, "project": self.project, **DETAILS}
            task = who.ok("tasks.create", fields)
            self.tasks[name] = task["id"]
            who.ok("tasks.started", {"task": task["id"]})
            for step in range(10):
                for variant, value in (("train", 1 / (step + 1)), ("val", 2 / (step + 2))):
                    who.ok(
                        "events.add",
                        {
                            "task": task["id"],
                            "type": "training_stats_scalar",
                            "metric": "loss",
                            "variant": variant,
                            "value": value,
                            "iter": step,
                        },
                    )
            who.ok(
                "events.add",
                {
                    "task": task["id"],
                    "type": "log",
                    "level": "info",
                    "worker": "gpu-box-1",
                    "msg": f"epoch 10 of {name} done",
                },
            )
            if end == "completed":
                who.ok("tasks.completed", {"task": task["id"]})
            elif end == "failed":
                who.ok("tasks.failed", {"task": task["id"], "status_reason": "diverged"})


@pytest.fixture(scope="module")
def ui_base(e2e_database: str) -> Iterator[str]:
    ui = _built_ui()
    with serving({"TASKTRACK_DATABASE_URL": e2e_database}, args=["--ui", str(ui)]) as base:
        yield base


@pytest.fixture(scope="module")
def seeded(ui_base: str, e2e_engine: Engine) -> Iterator[Seeded]:
    with e2e_engine.begin() as conn:
        alice = credentials.create(conn, "webui-co", "alice")
        bob = credentials.create(conn, "webui-co", "bob")
    alice_api = Api(ui_base, basic(alice.access_key, alice.secret_key))
    bob_api = Api(ui_base, basic(bob.access_key, bob.secret_key))
    try:
        yield Seeded(alice_api, bob_api, alice.access_key, alice.secret_key)
    finally:
        alice_api.close()
        bob_api.close()


class Browser:
    """One logged-in page, recording every API call that answered an error."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        page.on("response", self._record)

    def _record(self, response: Any) -> None:
        if "/api/" in response.url and response.status >= 400:
            self.errors.append(f"{response.status} {response.url.split('/api/', 1)[1]}")

    def open(self, path: str, *texts: str) -> None:
        """Go to `path` and wait until each of `texts` is on the page."""
        self.page.goto(self.base + path)
        for wanted in texts:
            self.page.get_by_text(wanted, exact=False).first.wait_for(timeout=WAIT_MS)
        self.page.wait_for_load_state("networkidle", timeout=WAIT_MS)
        self.dismiss_welcome()

    def dismiss_welcome(self) -> None:
        """Close ClearML's welcome dialog if this load shows it again (the UI decides from the
        preference it saves on closing, which a reload can outrun): it is not an error."""
        welcome = self.page.locator(
            "mat-dialog-container", has_text=re.compile("welcome to clearml", re.IGNORECASE)
        ).first
        if welcome.is_visible():
            self.page.keyboard.press("Escape")
            welcome.wait_for(state="hidden", timeout=WAIT_MS)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def text(self) -> str:
        return str(self.page.inner_text("body"))

    def assert_clean(self) -> None:
        assert self.errors == [], f"API calls answered errors: {self.errors}"
        shown = [e.inner_text() for e in self.page.query_selector_all(ERROR_UI) if e.is_visible()]
        assert shown == [], f"error toasts or dialogs shown: {shown}"


@pytest.fixture(scope="module")
def browser(ui_base: str, seeded: Seeded) -> Iterator[Browser]:
    chromium = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[test]')")
        raise
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = launched.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            yield Browser(page, ui_base)
        finally:
            launched.close()


@pytest.fixture(scope="module")
def logged_in(browser: Browser, seeded: Seeded) -> Browser:
    page = browser.page
    page.goto(browser.base + "/")
    page.wait_for_selector("input[formcontrolname=name]", timeout=WAIT_MS)
    browser.shot("0-login")
    page.fill("input[formcontrolname=name]", seeded.access_key)
    page.fill("input[formcontrolname=password]", seeded.secret_key)
    page.click("button[mat-flat-button]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=WAIT_MS)
    # A first login is welcomed by a dialog: close it (Escape, as its x does).
    welcome = page.locator(
        "mat-dialog-container", has_text=re.compile("welcome to clearml", re.IGNORECASE)
    ).first
    welcome.wait_for(timeout=WAIT_MS)
    browser.shot("0-welcome")
    page.keyboard.press("Escape")
    welcome.wait_for(state="hidden", timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    return browser


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
    page.locator("tr", has_text="bert finetune").first.click(button="right")
    page.locator(".mat-mdc-menu-item", has_text="Archive").first.click()
    page.get_by_text("bert finetune").first.wait_for(state="hidden", timeout=WAIT_MS)
    # The UI says so in a success toast (the same notifier its error toasts use).
    toast = page.locator(".notifier__notification--success", has_text="archived")
    toast.first.wait_for(timeout=WAIT_MS)
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
