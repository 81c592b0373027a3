"""Real SQL provider packages, unmodified, under ``airlane dags test`` (issue 16): the DAG files
in tests/dags/providers_sql are written as the common-sql and postgres providers' documentation
shows. SQLite through ``AIRFLOW_CONN_SQLITE_DEFAULT``; PostgreSQL on a throwaway server
(tests/postgres_server.py). Needs the providers scripts/setup.sh installs (``make install-test``:
common-sql, sqlite, postgres)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from tests.conftest import TEST_DAGS, run_cli
from tests.postgres_server import PostgresServer, postgres_server  # noqa: F401 (fixture)

SQL_DAGS = TEST_DAGS / "providers_sql"


def sqlite_uri(path: Path) -> str:
    """Airflow's SQLite connection URI: the database file as the (quoted) host."""
    return "sqlite://" + quote(str(path), safe="")


def test_sqlite_templated_queries_and_task_sql(tmp_path: Path) -> None:
    env = {"AIRFLOW_CONN_SQLITE_DEFAULT": sqlite_uri(tmp_path / "visits.db")}
    result = run_cli(
        *("dags", "test", "sqlite_query", "--dags-folder", str(SQL_DAGS), "--json"),
        *("--logical-date", "2024-03-01"),
        env=env,
    )
    assert result.code == 0, result.stderr[-4000:]
    states = {label: info["state"] for label, info in result.json()["tasks"].items()}
    assert set(states.values()) == {"success"}, states
    assert len(states) == 6
    # the provider's own INFO logs, with the rendered query, are in the task's log
    assert (
        "[insert_templated] INFO - Executing: INSERT INTO visits (ds, n) VALUES ('2024-03-01', 3)"
    ) in result.stderr
    assert "[insert_parameters] INFO - Rows affected: 1" in result.stderr
    assert "[total_for_day] INFO - Executing: SELECT sum(n) FROM visits" in result.stderr
    # rows come back as tuples, as Airflow's serde keeps them (real Airflow 3.3.2: the same)
    assert "[check] checked: [('2024-03-01', 3), ('2024-03-01', 5)] [(8,)]" in result.stderr


def test_postgres_operator_and_hook(postgres_server: PostgresServer) -> None:  # noqa: F811
    uri = postgres_server.new_database("dags_test_pets")
    result = run_cli(
        *("dags", "test", "postgres_pets", "--dags-folder", str(SQL_DAGS), "--json"),
        env={"AIRFLOW_CONN_POSTGRES_DEFAULT": uri},
    )
    assert result.code == 0, result.stderr[-4000:]
    states = {label: info["state"] for label, info in result.json()["tasks"].items()}
    assert set(states.values()) == {"success"}, states
    assert "[get_birth_date] INFO - Rows affected: 1" in result.stderr
    assert "[count_by_owner] INFO - Executing: SELECT count(*) FROM pet WHERE OWNER = 'Jane'" in (
        result.stderr
    )
    assert "[adopt_and_list] pets: ['Max', 'Susie', 'Lester', 'Quincy', 'Rex']" in result.stderr


def test_sqlite_check_operators_and_branch(tmp_path: Path) -> None:
    env = {"AIRFLOW_CONN_SQLITE_DEFAULT": sqlite_uri(tmp_path / "orders.db")}
    result = run_cli(
        *("dags", "test", "sqlite_checks", "--dags-folder", str(SQL_DAGS), "--json"), env=env
    )
    assert result.code == 0, result.stderr[-4000:]
    states = {label: info["state"] for label, info in result.json()["tasks"].items()}
    assert states.pop("few_orders") == "skipped"  # BranchSQLOperator followed many_orders
    assert set(states.values()) == {"success"}, states
    assert "[columns] INFO - All tests have passed" in result.stderr
    assert "[threshold] INFO - Test threshold Successful." in result.stderr
