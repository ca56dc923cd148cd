"""`tasktrack demo`: play a realistic scripted scenario, then show what the log made of it."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table

from tasktrack.api import Client, connect
from tasktrack.cli import reported_tables
from tasktrack.cli.demo_reports import report_run
from tasktrack.domain.values import STATUSES

PROJECTS = ("vision", "speech", "tabular")
MODELS = ("resnet50", "vit-b16", "efficientnet", "wav2vec", "conformer", "xgboost", "tabnet")


def _create(client: Client, project: str, n: int, rng: random.Random) -> str:
    model = rng.choice(MODELS)
    lr = rng.choice(["0.1", "0.01", "0.001"])
    return str(
        client.create(
            name=f"{project}/{model} #{n}",
            type=rng.choice(["training", "training", "testing"]),
            project=project,
            tags=[model, f"lr={lr}"],
            comment=f"{model} sweep run {n}",
            script={"repository": f"git@example.com:lab/{project}.git", "entry_point": "train.py"},
            hyperparams={"Args": {"lr": {"value": lr}, "batch_size": {"value": "64"}}},
        )["id"]
    )


def _run(client: Client, task: str, worker: str, outcome: str) -> None:
    """The user queues a task; an agent (a user of its own) picks it up, runs and ends it."""
    agent = client.as_caller(client.caller.company, f"agent@{worker}")
    client.enqueue(task=task, queue_name=rng_queue(worker))
    agent.worker_status_report(worker=worker, task=task)
    agent.started(task=task, status_reason="picked up by " + worker)
    agent.ping(task=task)
    # Its own generator: what a run reports leaves the scenario's choices as they were.
    report_run(agent, task, random.Random(task), outcome)  # noqa: S311 - a demo
    if outcome == "failed":
        agent.failed(task=task, status_reason="exception", status_message="CUDA out of memory")
    elif outcome == "stopped":
        client.stop(task=task, status_reason="user abort")  # worker live: asks it to stop
        agent.stopped(task=task, status_reason="user abort", status_message="aborted")
    else:
        agent.completed(task=task, status_message="finished")


def rng_queue(worker: str) -> str:
    return "gpu" if worker.startswith("gpu") else "cpu"


def play(client: Client, seed: int = 7) -> str:
    """The scenario; returns the id of the task whose timeline is most interesting."""
    rng = random.Random(seed)  # noqa: S311 - a demo, not cryptography
    showcase = ""
    for project in PROJECTS:
        for n in range(1, 13):
            task = _create(client, project, n, rng)
            if n == 12:
                client.delete(task=task)  # an abandoned draft: its stream ends, its rows go
            if n > 10:
                continue  # a few stay drafts
            worker = f"{rng.choice(['gpu', 'cpu'])}-worker-{rng.randint(1, 4)}"
            if n == 10:
                client.enqueue(task=task, queue_name=rng_queue(worker))  # still waiting
                continue
            outcome = rng.choice(["completed", "completed", "failed", "stopped"])
            _run(client, task, worker, outcome)
            if outcome == "failed":
                # Fix the bug, reset and run again: the history keeps the failed run.
                client.reset(task=task)  # its status reason is "reset" (SEMANTICS §2)
                client.edit(task=task, hyperparams={"Args": {"lr": {"value": "0.0005"}}})
                _run(client, task, worker, "completed")
                showcase = showcase or task
            if n in (1, 2):
                client.publish(task=task, status_reason="best of sweep")
            elif n == 9:
                client.archive(tasks=[task], status_reason="superseded")
            elif n == 8 and outcome == "stopped":
                client.delete(task=task, force=True)
    return showcase


def summary_table(client: Client) -> Table:
    counts: Counter[tuple[str, str]] = Counter()
    for project in PROJECTS:
        for task in client.get_all(project=project, page_size=500):
            counts[(project, task.status)] += 1
    statuses = [s for s in STATUSES if any(counts[(p, s)] for p in PROJECTS)]
    table = Table(title="tasks per status per project")
    table.add_column("project")
    for status in statuses:
        table.add_column(status, justify="right")
    table.add_column("total", justify="right")
    for project in PROJECTS:
        row = [str(counts[(project, s)] or "") for s in statuses]
        total = sum(counts[(project, s)] for s in statuses)
        table.add_row(project, *row, str(total))
    return table


def timeline_table(client: Client, task: str) -> Table:
    view = client.get_by_id(task)
    table = Table(title=f"status timeline of {view.name} ({task})")
    for column in ("v", "at (UTC)", "user", "from", "to", "reason", "message", "force"):
        table.add_column(column)
    for h in client.get_status_history(task):
        table.add_row(
            str(h.version),
            h.at.strftime("%H:%M:%S.%f")[:-3],
            h.user,
            h.from_status,
            h.to_status,
            h.reason,
            h.message,
            "yes" if h.force else "",
        )
    return table


@click.command()
@click.option("--seed", default=7, show_default=True, help="Random seed of the scenario.")
def demo(seed: int) -> None:
    """Play a scripted scenario (projects, dozens of tasks queued, run, failed, reset, re-run,
    completed, published, archived, deleted; runs report scalars, plots, a single value, a
    debug image and console lines) and print what the log made of it."""
    company = "demo-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    console = Console()
    with connect(company=company, user="demo-user") as client:
        showcase = play(client, seed)
        console.print(f"company [bold]{company}[/bold]: scenario played")
        console.print(summary_table(client))
        if showcase:
            console.print(timeline_table(client, showcase))
            for table in reported_tables.tables(client.get_reported_summary(showcase)):
                console.print(table)
            console.print(
                f"next: tasktrack tasks --company {company} show {showcase}\n"
                f"      tasktrack report --company {company} -o report.html"
            )
