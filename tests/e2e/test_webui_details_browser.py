"""ClearML's web UI on an experiment the real SDK recorded in full: hyperparameter sections and
configuration objects, the info tab (times, user, project, tags), artifacts and models, plots,
debug images from tasktrack's file server; and two experiments compared: details,
hyperparameters side by side, plots, debug samples. Each page must show the data, raise no
error toast, and no API call may answer an error. Screenshots go to test-artifacts/webui/
(fixtures: tests/e2e/webui.py; this module serves the UI with a file server folder of its
own).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.e2e.http import serving
from tests.e2e.webui import WAIT_MS, Browser, Seeded, _built_ui

pytest.importorskip("clearml", reason="the clearml SDK is in the test extras")

from tests.e2e.sdk import Sdk


@pytest.fixture(scope="module")
def ui_base(e2e_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The UI and API as webui.py serves them, with the file server in a folder of the test's
    own (the SDK's uploads and the debug images' URLs)."""
    env = {
        "TASKTRACK_DATABASE_URL": e2e_database,
        "TASKTRACK_FILES_DIR": str(tmp_path_factory.mktemp("webui-files")),
    }
    with serving(env, args=["--ui", str(_built_ui())]) as base:
        yield base


class Details:
    """The SDK's detailed run, its models, and two API-made tasks to compare."""

    def __init__(self, base: str, seeded: Seeded, home: Path) -> None:
        api = seeded.api
        self.pretrained = api.ok(
            "models.create",
            {
                "name": "pretrained backbone",
                "uri": "https://example.com/models/backbone.pt",
                "framework": "PyTorch",
                "project": seeded.project,
                "task": seeded.tasks["resnet sweep"],  # the run that made it
                "ready": True,
            },
        )["id"]
        api.credential = SimpleNamespace(  # type: ignore[attr-defined]
            access_key=seeded.access_key, secret_key=seeded.secret_key
        )
        sdk = Sdk(base, api, home, subprocess_reporting=False)
        done, self.task = sdk.run("webui_details.py", "vision", str(home / "work"), self.pretrained)
        assert done.returncode == 0, done.stderr
        self.model = json.loads(done.stdout.split("MODEL ", 1)[1].splitlines()[0])
        self.fields = sdk.task(self.task)
        # Two runs differing in one hyperparameter, for the compare page.
        self.compared: list[str] = []
        for name, lr in (("sweep lr high", "0.1"), ("sweep lr low", "0.01")):
            params = {
                "Args": {
                    "lr": {"section": "Args", "name": "lr", "value": lr},
                    "epochs": {"section": "Args", "name": "epochs", "value": "10"},
                }
            }
            made = api.ok(
                "tasks.create",
                {
                    "name": name,
                    "type": "training",
                    "project": seeded.project,
                    "hyperparams": params,
                },
            )
            self.compared.append(made["id"])
            # A plot of each, drawn side by side on the compare page's plots tab.
            curve = {
                "data": [{"type": "scatter", "x": [1, 2, 3], "y": [float(lr)] * 3, "name": name}],
                "layout": {"title": "lr curve"},
            }
            api.ok(
                "events.add",
                {
                    "task": made["id"],
                    "type": "plot",
                    "metric": "lr curve",
                    "variant": "curve",
                    "iter": 0,
                    "plot_str": json.dumps(curve),
                },
            )


@pytest.fixture(scope="module")
def details(ui_base: str, seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Details:
    return Details(ui_base, seeded, tmp_path_factory.mktemp("sdk-home"))


def _page(seeded: Seeded, details: Details, tab: str) -> str:
    return f"/projects/{seeded.project}/experiments/{details.task}/{tab}"


def _shown(moment: str, browser: Browser) -> str:
    """`moment` (ISO, UTC) as the UI's date pipe draws it ('MMM d yyyy H:mm', local time)."""
    offset = browser.page.evaluate("new Date().getTimezoneOffset()")
    local = datetime.fromisoformat(moment).astimezone(UTC) - timedelta(minutes=offset)
    return f"{local:%b} {local.day} {local.year} {local.hour}:{local:%M}"


def test_hyperparameter_sections_and_configuration_objects(
    logged_in: Browser, seeded: Seeded, details: Details
) -> None:
    logged_in.open(_page(seeded, details, "hyper-params/hyper-param/Args"), "0.003")
    text = logged_in.text()
    # Every section is listed beside the parameters of the open one.
    for shown in ("Args", "Optimizer", "lr", "batch", "64", "model dict", "augment"):
        assert shown in text, shown
    logged_in.shot("details-1-hyperparameters-args")
    logged_in.assert_clean()
    logged_in.open(_page(seeded, details, "hyper-params/hyper-param/Optimizer"), "momentum")
    text = logged_in.text()
    assert "0.9" in text
    assert "nesterov" in text
    logged_in.shot("details-2-hyperparameters-optimizer")
    logged_in.assert_clean()
    logged_in.open(_page(seeded, details, "hyper-params/configuration/model dict"), "dropout")
    assert "0.25" in logged_in.text()
    assert "layers" in logged_in.text()
    logged_in.shot("details-3-configuration-dict")
    logged_in.assert_clean()
    logged_in.open(_page(seeded, details, "hyper-params/configuration/augment"), "flip: horizontal")
    assert "crop: 224" in logged_in.text()
    logged_in.shot("details-4-configuration-text")
    logged_in.assert_clean()


def test_info_tab_shows_times_user_project_and_tags(
    logged_in: Browser, seeded: Seeded, details: Details
) -> None:
    logged_in.open(_page(seeded, details, "general"), "CREATED AT", details.task)
    logged_in.shot("details-5-info")
    text = logged_in.text()
    fields = details.fields
    for label, key in (("CREATED AT", "created"), ("STARTED AT", "started")):
        row = logged_in.page.locator("sm-labeled-row", has_text=label).first.inner_text()
        assert _shown(fields[key], logged_in) in row, (label, row, fields[key])
    updated = logged_in.page.locator("sm-labeled-row", has_text="LAST UPDATED AT").first
    assert _shown(fields["last_update"], logged_in) in updated.inner_text()
    created_by = logged_in.page.locator("sm-labeled-row", has_text="CREATED BY").first
    assert "alice" in created_by.inner_text()
    project = logged_in.page.locator("sm-labeled-row", has_text="PROJECT:").first
    assert "vision" in project.inner_text()
    for tag in ("baseline", "gpu-a100"):
        assert tag in text, tag
    logged_in.assert_clean()


def test_artifacts_tab_shows_models_and_the_artifact(
    logged_in: Browser, seeded: Seeded, details: Details
) -> None:
    logged_in.open(_page(seeded, details, "artifacts"), "pretrained backbone")
    page = logged_in.page
    # The input model, its creating task joined through the model (models.input.model.task).
    page.get_by_text("resnet sweep", exact=True).last.wait_for(timeout=WAIT_MS)
    logged_in.shot("details-6-input-model")
    rows = page.locator("sm-labeled-row").all_inner_texts()
    assert any("MODEL NAME" in r and "pretrained backbone" in r for r in rows), rows
    assert any("CREATING TASK" in r and "resnet sweep" in r for r in rows), rows
    logged_in.assert_clean()
    # The output model is listed by the name the task gave it (the weights file's stem).
    page.get_by_text("weights", exact=True).first.click()
    page.wait_for_url(lambda url: f"/output-model/{details.model}" in url, timeout=WAIT_MS)
    page.get_by_text("detailed model").first.wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("details-7-output-model")
    rows = page.locator("sm-labeled-row").all_inner_texts()
    assert any("MODEL NAME" in r and "detailed model" in r for r in rows), rows
    assert any("MODEL ID" in r and details.model[:8] in r for r in rows), rows
    logged_in.assert_clean()
    page.get_by_text("class names").first.click()
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    (artifact,) = [a for a in details.fields["execution"]["artifacts"] if a["key"] == "class names"]
    page.get_by_text(artifact["uri"]).first.wait_for(timeout=WAIT_MS)
    text = logged_in.text()
    assert artifact["hash"] in text, artifact
    logged_in.shot("details-8-artifact")
    logged_in.assert_clean()


# Per drawn chart: its element id and its traces' types (plotly keeps them on the element).
_CHARTS = (
    "Array.from(document.querySelectorAll('.js-plotly-plot')).map(p => [p.id || '',"
    " (p.data || []).map(t => t.type || 'scatter')])"
)


def test_plots_tab_draws_table_confusion_histogram_and_scatter(
    logged_in: Browser, seeded: Seeded, details: Details
) -> None:
    logged_in.open(_page(seeded, details, "plots"))
    page = logged_in.page
    page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("details-9-plots")
    # The UI draws a chart when its section scrolls into view: bring each one there.
    drawn: dict[str, set[str]] = {}
    page.mouse.move(900, 600)
    for _ in range(12):
        for chart, types in page.evaluate(_CHARTS):
            drawn.setdefault(chart, set()).update(types)
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(300)
    text = logged_in.text()
    for title in ("class histogram", "confusion", "embedding scatter", "results table"):
        assert title in text, title
    # Each kind of chart was drawn by plotly: histogram bars, the matrix, points, the table.
    kinds = set().union(*drawn.values())
    assert {"bar", "heatmap", "scatter", "table"} <= kinds, drawn
    logged_in.shot("details-9b-plots-scrolled")
    logged_in.assert_clean()


def test_debug_samples_show_thumbnails_served_by_the_file_server(
    logged_in: Browser, seeded: Seeded, details: Details
) -> None:
    logged_in.open(_page(seeded, details, "debugImages"), "samples")
    page = logged_in.page
    images = page.locator("sm-debug-image-snippet img, .debug-image img, img[src*='/files/']")
    images.first.wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("details-10-debug-images")
    # The latest iteration is open; the earlier one opens on a click on its header.
    page.locator("mat-expansion-panel-header", has_text="0").last.click()
    images.nth(1).wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("details-10b-debug-images-both")
    sources = [s for s in images.evaluate_all("els => els.map(e => e.src)") if "/files/" in s]
    assert len(sources) == 2, sources
    assert {s.rsplit("_", 1)[1] for s in sources} == {"00000000.jpeg", "00000001.jpeg"}
    for source in sources:
        answer = page.request.get(source)  # with the page's session cookie, as the <img> did
        assert answer.status == 200, source
        assert answer.body()[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1")
        # Drawn, not a broken image.
    assert all(images.evaluate_all("els => els.map(e => e.complete && e.naturalWidth > 0)"))
    # Without the session the file server refuses.
    assert httpx.get(sources[0]).status_code == 401
    logged_in.assert_clean()


def test_comparing_hyperparameters_shows_both_values_side_by_side(
    logged_in: Browser, seeded: Seeded, details: Details
) -> None:
    ids = ",".join(details.compared)
    logged_in.open(
        f"/projects/{seeded.project}/compare-tasks;ids={ids}/hyper-params/values",
    )
    page = logged_in.page
    logged_in.shot("details-11-compare-hyperparameters")
    # The section opens in both columns at once; its values show side by side.
    page.get_by_text("Args", exact=True).first.click()
    page.get_by_text("0.01", exact=True).first.wait_for(timeout=WAIT_MS)
    page.get_by_text("0.1", exact=True).first.wait_for(timeout=WAIT_MS)
    logged_in.shot("details-12-compare-hyperparameters-open")
    # The compared column marks lr (differing) and not epochs (equal).
    differing = page.locator(".diff-row .node-key").all_inner_texts()
    equal = page.locator(".equal-row .node-key").all_inner_texts()
    assert [k.strip() for k in differing] == ["lr"], differing
    assert "epochs" in [k.strip() for k in equal], equal
    logged_in.assert_clean()


def test_comparing_details_and_plots_of_two_experiments(
    logged_in: Browser, seeded: Seeded, details: Details
) -> None:
    ids = ",".join(details.compared)
    base = f"/projects/{seeded.project}/compare-tasks;ids={ids}"
    logged_in.open(f"{base}/details", "sweep lr high", "sweep lr low")
    logged_in.shot("details-13-compare-details")
    text = logged_in.text()
    assert text.count("Draft") >= 2, text
    logged_in.assert_clean()
    page = logged_in.page
    asked: list[str] = []

    def note(request: Any) -> None:
        asked.append(request.url.rsplit("/", 1)[-1])

    page.on("request", note)
    logged_in.open(f"{base}/metrics-plots", "lr curve")
    page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    page.remove_listener("request", note)
    logged_in.shot("details-14-compare-plots")
    # One chart per task, side by side, each drawing its task's curve (each also lists the
    # other task in its legend, as an empty trace).
    traces = page.evaluate(
        "Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".flatMap(p => (p.data || []).map(t => [t.name, (t.y || [])[0]]))"
    )
    drawn = {name: y for name, y in traces if y is not None}
    assert drawn == {"sweep lr high": 0.1, "sweep lr low": 0.01}, traces
    # It asked for the plots and followed the scroll to its end once (not forever).
    assert asked.count("events.get_multi_task_plots") <= 4, asked
    logged_in.assert_clean()


def test_comparing_debug_samples_shows_each_experiments_images(
    logged_in: Browser, seeded: Seeded, details: Details
) -> None:
    ids = f"{details.task},{seeded.tasks['resnet sweep']}"
    logged_in.open(
        f"/projects/{seeded.project}/compare-tasks;ids={ids}/debug-images", "detailed run"
    )
    page = logged_in.page
    images = page.locator("img[src*='/files/']")
    images.first.wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    logged_in.shot("details-15-compare-debug-images")
    sources = images.evaluate_all("els => els.map(e => e.src)")
    assert sources, sources
    assert all(details.task in s for s in sources), sources
    # The run without images says so in its own column.
    assert "NO DEBUG SAMPLES" in logged_in.text().upper()
    assert all(images.evaluate_all("els => els.map(e => e.complete && e.naturalWidth > 0)"))
    logged_in.assert_clean()
