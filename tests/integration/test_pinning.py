"""projections/pinning.py on a single node: the pinned statements run as they are there, and
migration 0025's `tasktrack_run_pinned` (called on Citus) runs its statement in the caller's
transaction. Its delegation on a cluster: tests/e2e/test_citus_phases.py."""

from __future__ import annotations

import psycopg
from sqlalchemy import Engine

from tasktrack.projections import pinning
from tasktrack.store.engine import raw

_KEY = (
    "INSERT INTO idempotency_keys (company, request_id, fingerprint, response, created_at) "
    "VALUES (%(company)s, %(request)s, 'f'::bytea, %(response)s, now())"
)
_READ = "SELECT response FROM idempotency_keys WHERE company = %s AND request_id = %s"


def test_a_single_node_does_not_delegate(engine: Engine) -> None:
    with engine.connect() as conn:
        assert pinning.delegating(raw(conn)) is False


def test_the_function_runs_its_statement_with_the_parameters_rendered_in(
    engine: Engine, company: str
) -> None:
    # The path a distributed layout takes, called by hand: a response holding quotes,
    # backslashes and non-ASCII comes back byte for byte.
    response = '{"msg": "it\'s a \\\\ back\\"slash é"}'
    params = {"company": company, "request": "r1", "response": response}
    with engine.begin() as conn:
        pg = raw(conn)
        rendered = psycopg.ClientCursor(pg).mogrify(_KEY, params)
        pg.execute("SELECT tasktrack_run_pinned(%s, %s)", (company, rendered))
        inside = pg.execute(_READ, (company, "r1")).fetchone()
    assert inside is not None
    assert inside[0] == {"msg": "it's a \\ back\"slash é"}


def test_run_writes_on_a_single_node_and_rolls_back_with_its_transaction(
    engine: Engine, company: str
) -> None:
    params = {"company": company, "request": "r2", "response": "{}"}
    with engine.connect() as conn:
        pg = raw(conn)
        with conn.begin() as tx:
            pinning.run(pg, company, _KEY, params, live=True)
            assert pg.execute(_READ, (company, "r2")).fetchone() is not None
            tx.rollback()
        assert pg.execute(_READ, (company, "r2")).fetchone() is None
