"""`tasktrack projections`: status, run (catch up or follow), rebuild, verify."""

from __future__ import annotations

import signal
import sys
from contextlib import ExitStack

import click
import msgspec

from tasktrack.cli.common import database
from tasktrack.cli.progress import bar
from tasktrack.projections import rebuild as rebuilding
from tasktrack.projections import registry, runner, tenant_rebuild, tenant_verify
from tasktrack.store import distribute, migrate, privileges
from tasktrack.store.engine import Database


def _specs(names: tuple[str, ...]) -> list[registry.ProjectorSpec]:
    try:
        return registry.select(list(names))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.group()
def projections() -> None:
    """Read models: their checkpoints, the catch-up runner, rebuild and verify."""


@projections.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per projector.")
def status(as_json: bool) -> None:
    """Each catch-up projector's checkpoint and how far behind the log it is."""
    with database() as db:
        migrate.require_current(db.engine)
        found = runner.status(db.engine, list(registry.catch_up()))
    for s in found:
        if as_json:
            click.echo(msgspec.json.encode(s).decode())
        else:
            when = f"{s.updated_at:%Y-%m-%d %H:%M:%S}" if s.updated_at else "never"
            tenants = f" ({s.tenants} tenants, the oldest shown)" if s.tenants else ""
            click.echo(
                f"{s.name}: position {s.position} (tx {s.tx}){tenants}, updated {when}, "
                f"{s.pending} events behind"
            )
    click.echo(
        "inline projections (tasks, task_status_history, task_metrics, queues, projects) "
        "are written with every command: never behind",
        err=True,
    )


# A fast start threshold no log reaches: batches only.
NEVER = 2**62


@projections.command()
@click.argument("names", nargs=-1)
@click.option("--follow", is_flag=True, help="Keep running: wake on NOTIFY, poll as fallback.")
@click.option("--wait", is_flag=True, help="Wait for another runner to stop instead of exiting.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--batches-only",
    is_flag=True,
    help="From the first event too, apply batch by batch (no stream-order replay and swap).",
)
@click.option(
    "--poll",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.05, 600),
    help="Seconds between polls when following.",
)
def run(
    names: tuple[str, ...],
    *,
    follow: bool,
    wait: bool,
    batch_size: int,
    batches_only: bool,
    poll: float,
) -> None:
    """Apply the log to the catch-up projectors (NAMES: all by default)."""
    specs = [s for s in _specs(names) if s.mode == "catch_up"]
    stopping = {"now": False}

    def stop(*_: object) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with database() as db, ExitStack() as locks:
        migrate.require_current(db.engine)
        try:
            for spec in specs:  # one runner per projector: hold each one's lock
                locks.enter_context(runner.exclusive(db.engine, spec.name, wait=wait))
        except runner.ProjectorBusy as exc:
            click.echo(f"tasktrack: {exc}", err=True)
            sys.exit(2)
        if follow:
            runner.follow(
                db.engine,
                specs,
                batch_size=batch_size,
                poll_seconds=poll,
                fast_start=NEVER if batches_only else runner.FAST_START_EVENTS,
                should_stop=lambda: stopping["now"],
            )
            return
        for spec in specs:
            fast_start = NEVER if batches_only else runner.FAST_START_EVENTS
            n = runner.catch_up(db.engine, spec, batch_size, fast_start=fast_start)
            click.echo(f"{spec.name}: applied {n} events")


@projections.command(name="rebuild")
@click.argument("names", nargs=-1)
@click.option(
    "--company",
    help="On a log sharded by tenant: rebuild this tenant's rows only (NAMES: every "
    "projection by default), holding off only its writers, only for its last events and the "
    "replacement of its rows.",
)
def rebuild_(names: tuple[str, ...], company: str | None) -> None:
    """Replay the log into twin tables (stream order), then swap them in (on a sharded log:
    tenant by tenant, each tenant's rows replaced)."""
    specs = _specs(names)
    with database() as db:
        migrate.require_current(db.engine)
        _require_owner(db, "tasktrack projections rebuild")
        with db.engine.connect() as conn:
            sharded = distribute.log_is_distributed(conn)
            conn.rollback()
        if company is not None or sharded:
            _rebuild_tenants(db, specs, company)
            return
        total = rebuilding.total_events(db.engine)
        # One pass of the log for every projection (then the tail written since).
        with bar("rebuilding " + ", ".join(s.name for s in specs), total) as step:
            end = rebuilding.rebuild(db.engine, specs, progress=step)
    click.echo(f"rebuilt {len(specs)} projections up to position {end.position}")


@projections.command()
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Differences as JSON lines.")
@click.option("--company", help="On a log sharded by tenant: verify this tenant's rows only.")
def verify(names: tuple[str, ...], as_json: bool, company: str | None) -> None:
    """Replay into twin tables and compare with the live ones; exit 1 on any difference."""
    specs = _specs(names)
    with database() as db:
        migrate.require_current(db.engine)
        _require_owner(db, "tasktrack projections verify")
        with db.engine.connect() as conn:
            sharded = distribute.log_is_distributed(conn)
            conn.rollback()
        if company is not None and not sharded:
            click.echo(
                "tasktrack: --company verifies one tenant of a log sharded by tenant (Citus); "
                "a single PostgreSQL is verified whole: verify without --company",
                err=True,
            )
            sys.exit(1)
        total = rebuilding.total_events(db.engine)
        with bar("verifying " + ", ".join(s.name for s in specs), total * _passes(specs)) as step:
            if sharded:
                # Tenant by tenant, each against one snapshot of its worker: no lock.
                tenants = [company] if company else tenant_rebuild.tenants(db.engine, specs)
                found = tenant_verify.verify(db.engine, specs, tenants, progress=step)
            else:
                found = rebuilding.verify(db.engine, specs, progress=step)
    for d in found:
        if as_json:
            click.echo(msgspec.json.encode(d).decode())
        else:
            what = f" in {', '.join(d.columns)}" if d.columns else ""
            click.echo(f"{d.table} {d.key}: {d.kind}{what}")
    if found:
        if sharded:
            per_tenant: dict[str, int] = {}
            for d in found:
                tenant = str(d.key.get("company"))
                per_tenant[tenant] = per_tenant.get(tenant, 0) + 1
            for tenant, n in sorted(per_tenant.items()):
                click.echo(f"tasktrack: tenant {tenant}: {n} differences", err=True)
        click.echo(
            f"tasktrack: {len(found)} differences between the read models and a replay", err=True
        )
        sys.exit(1)
    click.echo(f"all {len(specs)} projections equal a replay of the log")


def _rebuild_tenants(
    db: Database, specs: list[registry.ProjectorSpec], company: str | None
) -> None:
    """A sharded log: one tenant's rows (`company`), else every tenant's, one after another."""
    who = f"{company}'s" if company else "every tenant's"
    try:
        with bar(f"rebuilding {who} " + ", ".join(s.name for s in specs), None) as step:
            if company is None:
                done = tenant_rebuild.rebuild_all(db.engine, specs, progress=step)
            else:
                done = tenant_rebuild.rebuild_tenant(db.engine, specs, company, progress=step)
    except tenant_rebuild.NotPerTenant as exc:
        click.echo(f"tasktrack: {exc}", err=True)
        sys.exit(1)
    tenants = company or f"every tenant ({done.tenants})"
    click.echo(
        f"rebuilt {len(specs)} projections of {tenants} ({done.events} events replayed); "
        f"a tenant's writers were held off for {done.longest_hold_s * 1000:.0f} ms at most"
    )


def _require_owner(db: Database, action: str) -> None:
    """Rebuild and verify hold writers off with a lock on the log only its owner may take."""
    with db.engine.connect() as conn:
        privileges.require_owner(conn, action)
        conn.rollback()


def _passes(specs: list[registry.ProjectorSpec]) -> int:
    """How many times the log is read: once per catch-up projector, once for all inline."""
    return sum(1 for s in specs if s.mode == "catch_up") + (
        1 if any(s.mode == "inline" for s in specs) else 0
    )
