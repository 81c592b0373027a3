"""Object storage as Airflow's tutorial writes it (tutorial_objectstorage.py), on local files: a
task returns an ObjectStoragePath (an XCom in Airflow's serde form), the next ones get it back
as a path, and the common-io provider's FileTransferOperator copies the file, unmodified.
Real Airflow 3.3.2's ``dags test`` ends every task in success, printing the same lines."""

import tempfile

import pendulum
from airflow.providers.common.io.operators.file_transfer import FileTransferOperator
from airflow.sdk import ObjectStoragePath, dag, task

EXPECTED = {
    "dag_id": "object_storage",
    "state": "success",
    "tasks": {
        "write": "success", "analyze": "success", "copy": "success", "check": "success",
        "tidy": "success",
    },
}

base = ObjectStoragePath(f"file://{tempfile.gettempdir()}/airlane-object-storage/")
RUN_DIR = "{{ run_id | replace(':', '_') | replace('+', '_') }}"


@dag(schedule=None, start_date=pendulum.datetime(2021, 1, 1, tz="UTC"), catchup=False)
def object_storage():
    @task
    def write(**context) -> ObjectStoragePath:
        run_dir = base / context["run_id"].replace(":", "_").replace("+", "_")
        (run_dir / "archive").mkdir(exist_ok=True, parents=True)  # (a local copy makes none)
        path = run_dir / f"readings_{context['logical_date'].format('YYYYMMDD')}.csv"
        with path.open("w") as handle:
            handle.write("station,pm10\nA,12.5\nB,30.0\n")
        return path

    @task
    def analyze(path: ObjectStoragePath) -> float:
        assert isinstance(path, ObjectStoragePath), type(path)
        rows = path.read_text().splitlines()[1:]
        mean = sum(float(row.split(",")[1]) for row in rows) / len(rows)
        print(f"mean pm10 of {path.name}: {mean}")
        return mean

    copy = FileTransferOperator(
        task_id="copy",
        src=f"{base}/{RUN_DIR}/readings_{{{{ ds_nodash }}}}.csv",
        dst=f"{base}/{RUN_DIR}/archive/readings_{{{{ ds_nodash }}}}.csv",
    )

    @task
    def check(path: ObjectStoragePath) -> None:
        archived = path.parent / "archive" / path.name
        assert archived.read_text() == path.read_text()
        print(f"archived {archived.name} ({archived.stat().st_size} bytes)")

    @task
    def tidy(path: ObjectStoragePath) -> None:
        path.parent.rmdir(recursive=True)
        assert not path.parent.exists()

    written = write()
    [analyze(written), written >> copy >> check(written)] >> tidy(written)


object_storage()
