"""The web UI's test fixtures: the built UI served by `tasktrack serve --ui`, seeded tasks, and
a logged-in headless Chromium page that records every API call answering an error.

Needs a built UI (TASKTRACK_WEBUI_DIR, which .ci/run sets after ../shared/clearml-web/build.sh,
or that script's cache), the `playwright` package and a Chromium on PATH. On a developer's
machine without them the tests are skipped, saying which is missing; in CI (CI set) they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tasktrack.store import credentials
from tests.e2e.dbstate import stream_actions
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

    company = "webui-co"  # the seeding fixture names one per test module

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
def seeded(ui_base: str, e2e_engine: Engine, request: pytest.FixtureRequest) -> Iterator[Seeded]:
    # A company per test module: the modules share the session's database, and each seeds the
    # same project names (a second "vision" in one company would be refused).
    company = f"webui-{request.module.__name__.rsplit('.', 1)[-1]}"
    with e2e_engine.begin() as conn:
        alice = credentials.create(conn, company, "alice")
        bob = credentials.create(conn, company, "bob")
    alice_api = Api(ui_base, basic(alice.access_key, alice.secret_key))
    bob_api = Api(ui_base, basic(bob.access_key, bob.secret_key))
    try:
        seeded = Seeded(alice_api, bob_api, alice.access_key, alice.secret_key)
        seeded.company = company
        yield seeded
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

    def watch_notices(self) -> None:
        """Record every notification (toast) the UI shows from now on. A toast goes away after
        a few seconds, which a loaded machine can outlast before a wait for it starts; the
        record keeps it (class and text, re-read on every change while it is shown)."""
        self.page.evaluate(
            """() => {
                window.__ttNotices = new Set();
                const grab = () => document.querySelectorAll('.notifier__notification')
                    .forEach(n => window.__ttNotices.add(n.className + ' | ' + n.innerText));
                if (!window.__ttObserver) {
                    window.__ttObserver = new MutationObserver(grab);
                    window.__ttObserver.observe(
                        document.body, {childList: true, subtree: true, characterData: true});
                }
                grab();
            }"""
        )

    def wait_notice(self, kind: str, text: str) -> None:
        """Wait until a `kind` notification ('success', 'error'…) saying `text` was shown since
        `watch_notices`, even if it is gone by now."""
        self.page.wait_for_function(
            """([kind, text]) => Array.from(window.__ttNotices || []).some(
                n => n.includes('notifier__notification--' + kind) && n.includes(text))""",
            arg=[kind, text],
            timeout=WAIT_MS,
        )

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


class Rows:
    """A table page of the UI (tasks, models) whose rows are named by `name`, loaded a page of
    `page` rows at a time as its loader row scrolls into view."""

    def __init__(self, name: re.Pattern[str], count: int, page: int) -> None:
        self.name, self.pages = name, count // page + 2

    def shown(self, browser: Browser) -> list[str]:
        """The names the table shows, top to bottom (one per row)."""
        rows = browser.page.locator("tbody tr").all_inner_texts()
        return [m.group(0) for r in rows if (m := self.name.search(r))]

    def all(self, browser: Browser) -> list[str]:
        """Scroll the table to its end and answer every row it then shows."""
        page = browser.page
        shown = self.shown(browser)
        for _ in range(self.pages):
            # In the page's own script: the loader row is re-rendered as rows arrive, so a
            # handle taken on it from here can be stale by the time it is used. From the top to
            # the loader: the UI loads on the loader coming into view, which a loader already in
            # view (the table shrank under it) would not do.
            page.evaluate("() => document.querySelector('tbody tr')?.scrollIntoView()")
            page.wait_for_timeout(100)
            more = page.evaluate(
                """() => {
                    const row = document.querySelector('tr.table-load-more:not(.hidden)');
                    if (row) row.scrollIntoView();
                    return row !== null;
                }"""
            )
            if not more:
                break
            deadline = time.monotonic() + 10
            while self.shown(browser) == shown and time.monotonic() < deadline:
                page.wait_for_timeout(200)
            page.wait_for_load_state("networkidle", timeout=WAIT_MS)
            if self.shown(browser) == shown:
                break
            shown = self.shown(browser)
        return shown

    def wait(self, browser: Browser, expected: list[str]) -> list[str]:
        """Every row, once the table shows `expected` (those rows in that order), or what it
        shows after WAIT_MS."""
        deadline = time.monotonic() + WAIT_MS / 1000
        shown = self.all(browser)
        while shown != expected and time.monotonic() < deadline:
            browser.page.wait_for_timeout(300)
            shown = self.all(browser)
        return shown


def header(browser: Browser, title: str) -> Any:
    """The table's header cell of the column titled `title`."""
    exact = re.compile(rf"^\s*{re.escape(title)}\s*$", re.IGNORECASE)
    return browser.page.locator("thead th").filter(has_text=exact).first


def tick(
    browser: Browser, column: str, option: str, options: str = "[data-id=FilterOption]"
) -> None:
    """Tick (or untick) `option` in the column's filter menu and close the menu."""
    page = browser.page
    header(browser, column).locator("sm-menu button").first.click()
    choice = page.locator(f".mat-mdc-menu-panel :is({options})", has_text=option).first
    choice.wait_for(timeout=WAIT_MS)
    choice.click()
    page.keyboard.press("Escape")
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)


def last_event(engine: Engine, entity: str) -> tuple[str, str]:
    """(type, user) of the newest event of the stream of a task or model (by its id)."""
    with engine.connect() as conn:
        stream = conn.execute(
            text("SELECT DISTINCT stream_id FROM events WHERE stream_id LIKE :s"),
            {"s": f"%{entity}"},
        ).scalar_one()
    return stream_actions(engine, stream)[-1]
