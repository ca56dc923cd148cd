"""`tasktrack audit`: verify every hash chain (and an anchor), replay a task, take an anchor."""

from __future__ import annotations

import sys
from collections import Counter

import click
import msgspec
from sqlalchemy import Connection

from tasktrack.cli.common import database
from tasktrack.cli.progress import bar
from tasktrack.domain import chain
from tasktrack.queries import audit as auditing
from tasktrack.store import distribute, migrate
from tasktrack.store.engine import raw

# What each hash-chain rule proves about an event's tenant (domain/chain.py).
RULE_COVERS = {
    chain.LEGACY: "written before migration 0011; the tenant column is not hashed and was "
    "checked against the stream's hashed metadata",
    chain.CURRENT: "the hash covers the tenant",
}


@click.group()
def audit() -> None:
    """Proof that the log was not altered, and what it says happened."""


_COMPANY_HELP = "Only this tenant's events (on a log sharded by tenant, the only anchors)."


def _whole_log_anchor(sa_conn: Connection, action: str) -> None:
    """Exit 1 when an anchor of the whole log is asked of a log sharded by tenant: its order
    is per tenant (docs/architecture.md, "Citus"), so its anchors are too (--company)."""
    try:
        distribute.refuse_on_distributed_log(sa_conn, action)
    except distribute.NotYetDistributed as exc:
        click.echo(f"tasktrack: {exc}; take and check one anchor per tenant (--company)", err=True)
        sys.exit(1)


@audit.command()
@click.option("--anchor", "anchor_text", help="Also prove nothing seen by this anchor was removed.")
@click.option("--company", help=_COMPANY_HELP)
def verify(anchor_text: str | None, company: str | None) -> None:
    """Recompute every stream's hash chain; exit 1 naming each stream that breaks."""
    expected = None
    if anchor_text:
        try:
            expected = auditing.Anchor.parse(anchor_text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--anchor") from exc
    with database() as db, db.engine.connect() as sa_conn:
        migrate.require_current(db.engine)
        if expected is not None and company is None:
            _whole_log_anchor(sa_conn, "`tasktrack audit verify --anchor` of the whole log")
        conn = raw(sa_conn)
        where, params = ("", []) if company is None else (" WHERE company = %s", [company])
        total = conn.execute(f"SELECT count(*) FROM events{where}", params).fetchone()
        rules: Counter[int] = Counter()
        with bar("verifying hash chains", int(total[0]) if total else None) as step:
            breaks = auditing.verify_chains(conn, progress=step, rules=rules, company=company)
        problem = auditing.check_anchor(conn, expected, company) if expected else None
        sa_conn.rollback()
    for b in breaks:
        click.echo(
            f"stream {b.stream_id}: breaks at version {b.stream_version} "
            f"(position {b.position}): {b.reason}"
        )
    if problem:
        click.echo(f"anchor: {problem}")
    if breaks or problem:
        sys.exit(1)
    click.echo("every hash chain holds" + (" and the anchor matches" if expected else ""))
    for rule, count in sorted(rules.items()):
        click.echo(f"  {count} events under chain rule {rule}: {RULE_COVERS[rule]}")


@audit.command()
@click.option("--company", help=_COMPANY_HELP)
def anchor(company: str | None) -> None:
    """Print one digest over all stream heads (store it elsewhere; verify with --anchor)."""
    with database() as db, db.engine.connect() as sa_conn:
        migrate.require_current(db.engine)
        if company is None:
            _whole_log_anchor(sa_conn, "`tasktrack audit anchor` of the whole log")
        taken = auditing.anchor(raw(sa_conn), company)
        sa_conn.rollback()
    click.echo(str(taken))


@audit.command()
@click.argument("task")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per status change.")
def replay(task: str, as_json: bool) -> None:
    """A task's status timeline from the log alone (deleted tasks too)."""
    with database() as db, db.engine.connect() as sa_conn:
        migrate.require_current(db.engine)
        entries = auditing.timeline(raw(sa_conn), task)
        sa_conn.rollback()
    if not entries:
        click.echo(f"tasktrack: no status changes of {task} in the log", err=True)
        sys.exit(1)
    for e in entries:
        if as_json:
            click.echo(msgspec.json.encode(e).decode())
        else:
            click.echo(
                f"{e.position:>8}  {e.at:%Y-%m-%d %H:%M:%S.%f}  {e.user:<12} "
                f"{e.from_status} -> {e.to_status}"
                f"{'  (force)' if e.force else ''}  reason={e.reason!r} "
                f"message={e.message!r}  {e.hash[:16]}"
            )
