"""`tasktrack files verify`: does the file server's folder hold what the log says it holds?"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tasktrack.cli.common import database, settings
from tasktrack.domain.files import differences, expected
from tasktrack.queries import files as file_queries
from tasktrack.store import migrate
from tasktrack.store.engine import raw
from tasktrack.store.file_store import FileStore, company_folder


@click.group()
def files() -> None:
    """The file server's folder, checked against the log."""


@files.command()
@click.option("--company", help="Only this company's files (default: every company's).")
@click.option(
    "--files-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to check (default: TASKTRACK_FILES_DIR, else `files` in the data dir).",
)
def verify(company: str | None, files_dir: Path | None) -> None:
    """Compare every file on disk with its last FileStored (size and SHA-256): list what is
    missing, different or unrecorded; exit 1 if anything is (e.g. after restoring a backup)."""
    store = FileStore(files_dir or settings().files_dir)
    with database() as db, db.engine.connect() as sa_conn:
        migrate.require_current(db.engine)
        recorded = file_queries.facts(raw(sa_conn), company)
        sa_conn.rollback()
    companies = [company] if company else sorted(recorded)
    problems: list[str] = []
    checked = 0
    for owner in companies:
        wanted = expected(recorded.get(owner, []))
        found = store.inventory(owner)
        checked += len(found)
        problems += [f"{owner}: {p}" for p in differences(wanted, found)]
    if company is None:
        known = {company_folder(c) for c in companies}
        problems += [f"folder {f}: no company in the log" for f in store.company_folders()
                     if f not in known]  # fmt: skip
    for problem in problems:
        click.echo(problem)
    if problems:
        sys.exit(1)
    click.echo(f"{checked} files of {len(companies)} companies match the log ({store.root})")
