"""Record Airflow's connection URI/JSON results for tests/unit/test_connection_uri.py.

Run with a real Airflow 3.1.8:
``/work/airflow-venv-3/bin/python scripts/compat/record_connection_uris.py``
writes tests/unit/fixtures/connection_uris_airflow_318.json.
"""

import json
import logging
import warnings
from pathlib import Path

from airflow.models.connection import Connection

logging.disable(logging.CRITICAL)
warnings.simplefilter("ignore")

FIELDS = ("conn_type", "host", "login", "password", "schema", "port", "extra")
OUT = Path(__file__).parents[2] / "tests/unit/fixtures/connection_uris_airflow_318.json"

URIS = [
    "postgres://user:pa%2Fss%40word@host.example.com:5432/my%2Fdb?sslmode=require&connect_timeout=10",
    "postgresql://u:p@h/s",
    "google-cloud-platform://?extra__google_cloud_platform__project=p1",
    "http://https://example.com:8080/api",
    "my-conn-type://login:password@host:1234/schema?__extra__=%7B%22a%22%3A+%5B1%2C+2%5D%7D",
    "aws://",
    "sqlite:///%2Ftmp%2Fdb.sqlite",
    "mysql://h?x=1&y=true&z=%7B%22k%22%3A1%7D&e=",
    "smtp://:secret@mail:25",
    "file://@:8080",
    "x://user:@h",
]
OBJECTS = [
    {
        "conn_type": "postgres",
        "host": "h",
        "login": "u",
        "password": "p@ss w/rd",
        "schema": "db",
        "port": 5432,
        "extra": {"a": "b"},
    },
    {"conn_type": "google_cloud_platform", "extra": {"n": 1}},
    {"conn_type": "http", "host": "https://x.org", "port": 443},
    {"conn_type": "http", "host": "http://x.org"},
    {"conn_type": "fs", "port": 99},
    {"conn_type": None, "host": "h"},
    {"conn_type": "x", "login": "only"},
    {"conn_type": "x", "password": "", "login": ""},
    {"conn_type": "x", "host": "h", "extra": {"nested": {"a": 1}, "s": "t"}},
    {"conn_type": "x", "host": "a/b c"},
]
JSONS = [
    '{"conn_type": "my-type", "host": "h", "port": "5432", "extra": {"a": 1}}',
    '{"conn_type": "postgresql", "login": "u", "password": "p", "extra": "{\\"x\\": 2}"}',
]


def fields(conn):
    return {name: getattr(conn, name) for name in FIELDS}


out = {"parse": [], "uri": [], "json": []}
for uri in URIS:
    conn = Connection(conn_id="c", uri=uri)
    out["parse"].append([uri, fields(conn), conn.get_uri()])
for kwargs in OBJECTS:
    conn = Connection(conn_id="c", **kwargs)
    out["uri"].append([kwargs, conn.get_uri(), conn.as_json()])
for text in JSONS:
    conn = Connection.from_json(text, conn_id="j")
    out["json"].append([text, fields(conn), conn.as_json()])
OUT.write_text(json.dumps(out, indent=1) + "\n")
