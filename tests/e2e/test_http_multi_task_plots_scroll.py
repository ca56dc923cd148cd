"""events.get_multi_task_plots' scroll, as ClearML's web UI's compare page drives it: it asks
again with the answer's scroll id for as long as an answer returned plots, so the scroll must
come to an end (it asked forever before)."""

from __future__ import annotations

import json

from tests.e2e.http import Api


def _plot(api: Api, task: str, metric: str, iteration: int) -> None:
    body = {"data": [{"type": "scatter", "x": [1, 2], "y": [iteration, 1]}]}
    api.ok(
        "events.add",
        {
            "task": task,
            "type": "plot",
            "metric": metric,
            "variant": "v",
            "iter": iteration,
            "plot_str": json.dumps(body),
        },
    )


def test_the_scroll_ends_after_every_plot_was_answered(api: Api) -> None:
    tasks = [
        api.ok("tasks.create", {"name": n, "type": "training"})["id"] for n in ("run a", "run b")
    ]
    for task in tasks:
        for iteration in (0, 1):
            _plot(api, task, "curve", iteration)
    _plot(api, tasks[0], "roc", 0)
    asked = {"tasks": tasks, "iters": 1, "last_iters_per_task_metric": True}
    first = api.ok("events.get_multi_task_plots", asked)
    assert first["returned"] == 3
    assert first["total"] == 3
    assert set(first["plots"]) == {"curve", "roc"}
    assert set(first["plots"]["curve"]["v"]) == set(tasks)
    assert all(set(by_iter) == {"1"} for by_iter in first["plots"]["curve"]["v"].values())
    # As the UI goes on: the scroll id answers no more plots, and stays at its end.
    scroll = first["scroll_id"]
    assert scroll
    for _ in range(2):
        more = api.ok("events.get_multi_task_plots", {**asked, "scroll_id": scroll})
        assert (more["returned"], more["plots"], more["total"]) == (0, {}, 3)
        scroll = more["scroll_id"]
    # Without a scroll everything comes at once, with no scroll id to follow.
    whole = api.ok("events.get_multi_task_plots", {**asked, "no_scroll": True})
    assert whole["returned"] == 3
    assert whole["scroll_id"] is None
    # A scroll id that is not this endpoint's is refused.
    code, _subcode, msg = api.error(
        "events.get_multi_task_plots", {**asked, "scroll_id": "not-a-scroll"}
    )
    assert code == 400
    assert "scroll" in msg.lower()
