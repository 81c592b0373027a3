"""DAG files the benchmarks generate."""

from __future__ import annotations

from pathlib import Path

HEADER = "from airlane import DAG, PythonOperator\n\n\ndef noop():\n    return None\n\n\n"


def chain(folder: Path, n: int) -> str:
    dag_id = f"bench_chain_{n}"
    (folder / f"{dag_id}.py").write_text(
        HEADER
        + f"with DAG({dag_id!r}, schedule=None) as dag:\n"
        + "    previous = None\n"
        + f"    for i in range({n}):\n"
        + "        current = PythonOperator(task_id=f't{i:05d}', python_callable=noop)\n"
        + "        if previous is not None:\n"
        + "            previous >> current\n"
        + "        previous = current\n"
    )
    return dag_id


def fan_out(folder: Path, n: int) -> str:
    dag_id = f"bench_fan_out_{n}"
    (folder / f"{dag_id}.py").write_text(
        HEADER
        + f"with DAG({dag_id!r}, schedule=None, max_active_tasks={n}) as dag:\n"
        + "    root = PythonOperator(task_id='root', python_callable=noop)\n"
        + f"    for i in range({n}):\n"
        + "        root >> PythonOperator(task_id=f'leaf_{i:05d}', python_callable=noop)\n"
    )
    return dag_id


def wide(folder: Path, n: int, max_active: int) -> str:
    dag_id = f"bench_wide_{n}_{max_active}"
    (folder / f"{dag_id}.py").write_text(
        HEADER
        + f"with DAG({dag_id!r}, schedule=None, max_active_tasks={max_active}) as dag:\n"
        + f"    for i in range({n}):\n"
        + "        PythonOperator(task_id=f't{i:05d}', python_callable=noop)\n"
    )
    return dag_id


def scenario(folder: Path, dags: int, tasks: int) -> list[str]:
    """Airflow's scheduler benchmark: ``dags`` DAGs of ``tasks`` linear tasks, in one file."""
    ids = [f"bench_linear_{i:03d}" for i in range(dags)]
    (folder / "bench_scenario.py").write_text(
        HEADER
        + f"for dag_id in {ids!r}:\n"
        + "    with DAG(dag_id, schedule=None) as dag:\n"
        + "        previous = None\n"
        + f"        for i in range({tasks}):\n"
        + "            current = PythonOperator(task_id=f't{i}', python_callable=noop)\n"
        + "            if previous is not None:\n"
        + "                previous >> current\n"
        + "            previous = current\n"
        + "    globals()[dag_id] = dag\n"
    )
    return ids


def many_files(folder: Path, n: int) -> None:
    for i in range(n):
        (folder / f"listed_{i:03d}.py").write_text(
            HEADER
            + f"with DAG('listed_{i:03d}', schedule=None) as dag:\n"
            + "    PythonOperator(task_id='a', python_callable=noop) >> "
            + "PythonOperator(task_id='b', python_callable=noop)\n"
        )


def every_second(folder: Path) -> str:
    """Scheduled every second (paused until the benchmark unpauses it)."""
    dag_id = "bench_every_second"
    (folder / f"{dag_id}.py").write_text(
        "from datetime import datetime, timedelta\n\n"
        + HEADER
        + f"with DAG({dag_id!r}, schedule=timedelta(seconds=1), start_date=datetime(2024, 1, 1),"
        + " catchup=False, is_paused_upon_creation=True) as dag:\n"
        + "    PythonOperator(task_id='a', python_callable=noop)\n"
    )
    return dag_id


def sleepy_fan_out(folder: Path, n: int, sleep_s: float) -> str:
    """A root and ``n`` tasks after it that each sleep ``sleep_s`` (work a slot must wait on)."""
    dag_id = f"bench_sleepy_fan_out_{n}"
    (folder / f"{dag_id}.py").write_text(
        "import time\n\nfrom airlane import DAG, PythonOperator\n\n\n"
        + f"def nap():\n    time.sleep({sleep_s!r})\n\n\n"
        + f"with DAG({dag_id!r}, schedule=None, max_active_tasks={n}) as dag:\n"
        + "    root = PythonOperator(task_id='root', python_callable=nap)\n"
        + f"    for i in range({n}):\n"
        + "        root >> PythonOperator(task_id=f'leaf_{i:05d}', python_callable=nap)\n"
    )
    return dag_id


def grouped(folder: Path, n: int) -> str:
    """``n`` EmptyOperator tasks (completed by the coordinator, no worker needed): a start,
    ten task groups of short chains, an end."""
    dag_id = f"bench_grouped_{n}"
    per_group = (n - 2) // 10
    extra = n - 2 - per_group * 10
    (folder / f"{dag_id}.py").write_text(
        "from airlane import DAG, EmptyOperator, TaskGroup\n\n"
        + f"with DAG({dag_id!r}, schedule=None, max_active_runs=64) as dag:\n"
        + "    start = EmptyOperator(task_id='start')\n"
        + "    end = EmptyOperator(task_id='end')\n"
        + "    for g in range(10):\n"
        + "        with TaskGroup(f'group_{g}') as group:\n"
        + "            previous = None\n"
        + f"            for i in range({per_group} + (1 if g < {extra} else 0)):\n"
        + "                task = EmptyOperator(task_id=f'step_{i:03d}')\n"
        + "                if previous is not None and i % 5:\n"
        + "                    previous >> task\n"
        + "                previous = task\n"
        + "        start >> group >> end\n"
    )
    return dag_id


def gated_fan_out(folder: Path, n: int, gate: Path) -> str:
    """A root and ``n`` tasks after it that each wait until the file ``gate`` exists (at most
    two minutes): work stays queued for as long as a measurement needs."""
    dag_id = f"bench_gated_fan_out_{n}"
    (folder / f"{dag_id}.py").write_text(
        "import os\nimport time\n\nfrom airlane import DAG, PythonOperator\n\n\n"
        + "def wait():\n"
        + "    deadline = time.time() + 120\n"
        + f"    while not os.path.exists({str(gate)!r}) and time.time() < deadline:\n"
        + "        time.sleep(0.01)\n\n\n"
        + f"with DAG({dag_id!r}, schedule=None, max_active_tasks={n}) as dag:\n"
        + "    root = PythonOperator(task_id='root', python_callable=lambda: None)\n"
        + f"    for i in range({n}):\n"
        + "        root >> PythonOperator(task_id=f'leaf_{i:05d}', python_callable=wait)\n"
    )
    return dag_id
