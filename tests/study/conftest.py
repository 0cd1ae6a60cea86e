"""Fixtures for tests that need a real PostgreSQL server.

The server comes from ``FTSWEEP_TEST_POSTGRES_URL`` (a SQLAlchemy URL such as
``postgresql+psycopg://postgres@127.0.0.1:55432/ftsweep_test``), which
``.ci/postgres.sh``'s ``pg_start`` exports.  Locally, without it, the tests
that need it are skipped; under ``CI=true`` a missing server is a hard
failure, so CI can never skip them silently.

Each test that asks for ``postgres_url`` gets a brand-new, empty database
(``CREATE DATABASE ftsweep_<random>``) that is dropped ``WITH (FORCE)``
afterwards, so tests never see each other's Optuna tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_URL_ENV = "FTSWEEP_TEST_POSTGRES_URL"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Anything that uses the Postgres fixtures is a `postgres` test, so that
    # `-m "not postgres"` deselects it even if its module forgot the marker.
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "postgres_url" in names or "postgres_server_url" in names:
            item.add_marker(pytest.mark.postgres)


def _libpq_conninfo(sqlalchemy_url: str, database: str | None = None) -> str:
    """Turn a SQLAlchemy URL (any postgresql+driver) into a libpq URI for psycopg."""
    from sqlalchemy.engine import make_url

    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The configured server URL, or skip (fail under CI=true) when it is unset."""
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if not url:
        hint = "start one with `source .ci/postgres.sh && pg_start`"
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{POSTGRES_URL_ENV} is not set but CI=true: the PostgreSQL tests must not be "
                f"skipped in CI ({hint} in .ci/run)",
                pytrace=False,
            )
        pytest.skip(f"{POSTGRES_URL_ENV} is not set ({hint})")
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database that is dropped after the test."""
    # Imported here, not skipped on ImportError: psycopg is a dev dependency,
    # and a missing driver must not turn into a silent skip.
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = f"ftsweep_{uuid.uuid4().hex[:16]}"
    admin = _libpq_conninfo(postgres_server_url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
