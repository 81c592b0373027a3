"""XCom values in Airflow's serde form (sdk/serde.py).

The expected texts were recorded from real Airflow: ``airflow.sdk.serde.serialize`` of the task
SDK 1.3.2 (apache-airflow 3.3.2) in a throwaway venv, ``json.dumps`` of its result; Airflow
3.1.8's ``airflow.serialization.serde`` and its serializers give the same class names, versions
and data. So did its deserialize (types and values) and ``deserialize(full=False)``.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import decimal
import enum
import json
import uuid
import zoneinfo
from typing import Any

import attr
import pendulum
import pydantic
import pytest

from airlane.sdk import serde
from airlane.sdk.dag import DAG
from airlane.sdk.operators.empty import EmptyOperator
from airlane.service.execution.runtime_ti import (
    InMemoryXComs,
    RuntimeTaskInstance,
    decode_xcom,
    encode_xcom,
)

_UTC_TZ = (
    '{"__classname__": "builtins.tuple", "__version__": 1, "__data__": '
    '["UTC", "pendulum.tz.timezone.FixedTimezone", 1, true]}'
)
Point = collections.namedtuple("Point", "x y")


class Number(enum.IntEnum):
    ONE = 1


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Box:
    a: int
    b: tuple[int, int] = (1, 2)


@attr.define
class Pair:
    x: int
    y: str = "s"


class Model(pydantic.BaseModel):
    name: str
    n: int = 1


class Own:
    __version__ = 3

    def __init__(self, v: int) -> None:
        self.v = v

    def serialize(self) -> dict[str, Any]:
        return {"v": self.v, "t": (1, 2)}

    @staticmethod
    def deserialize(data: dict[str, Any], version: int) -> tuple[str, dict[str, Any], int]:
        return ("Own", data, version)


#: name -> (value, Airflow's text, the value read back)
RECORDED: dict[str, tuple[Any, str, Any]] = {
    "tuple": (
        (1, "a", (2, 3)),
        '{"__classname__": "builtins.tuple", "__version__": 1, "__data__": [1, "a", '
        '{"__classname__": "builtins.tuple", "__version__": 1, "__data__": [2, 3]}]}',
        (1, "a", (2, 3)),
    ),
    "list of tuples": (
        [(1, 2)],
        '[{"__classname__": "builtins.tuple", "__version__": 1, "__data__": [1, 2]}]',
        [(1, 2)],
    ),
    "set": (
        {1, 2},
        '{"__classname__": "builtins.set", "__version__": 1, "__data__": [1, 2]}',
        {1, 2},
    ),
    "frozenset": (
        frozenset({"a"}),
        '{"__classname__": "builtins.frozenset", "__version__": 1, "__data__": ["a"]}',
        frozenset({"a"}),
    ),
    "datetime in UTC": (
        dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        '{"__classname__": "datetime.datetime", "__version__": 2, "__data__": '
        f'{{"timestamp": 1704164645.000006, "tz": {_UTC_TZ}}}}}',
        dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
    ),
    "pendulum datetime": (
        pendulum.datetime(2024, 1, 2, tz="Europe/Amsterdam"),
        '{"__classname__": "pendulum.datetime.DateTime", "__version__": 2, "__data__": '
        '{"timestamp": 1704150000.0, "tz": {"__classname__": "builtins.tuple", "__version__": '
        '1, "__data__": ["Europe/Amsterdam", "pendulum.tz.timezone.Timezone", 1, true]}}}',
        pendulum.datetime(2024, 1, 2, tz="Europe/Amsterdam"),
    ),
    "date": (
        dt.date(2024, 1, 2),
        '{"__classname__": "datetime.date", "__version__": 2, "__data__": "2024-01-02"}',
        dt.date(2024, 1, 2),
    ),
    "timedelta": (
        dt.timedelta(days=1, seconds=3, microseconds=5),
        '{"__classname__": "datetime.timedelta", "__version__": 2, "__data__": 86403.000005}',
        dt.timedelta(days=1, seconds=3, microseconds=5),
    ),
    "decimal": (
        decimal.Decimal("1.10"),
        '{"__classname__": "decimal.Decimal", "__version__": 1, "__data__": 1.1}',
        decimal.Decimal("1.1"),
    ),
    "integral decimal": (
        decimal.Decimal("3"),
        '{"__classname__": "decimal.Decimal", "__version__": 1, "__data__": 3}',
        decimal.Decimal("3"),
    ),
    "uuid": (
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        '{"__classname__": "uuid.UUID", "__version__": 1, '
        '"__data__": "12345678-1234-5678-1234-567812345678"}',
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
    ),
    "int enum": (Number.ONE, "1", 1),
    "named tuple": (
        Point(1, 2),
        '{"__classname__": "builtins.tuple", "__version__": 1, "__data__": [1, 2]}',
        (1, 2),
    ),
    "dict keys": ({1: "a", (1, 2): "b"}, '{"1": "a", "(1, 2)": "b"}', {"1": "a", "(1, 2)": "b"}),
    "zoneinfo": (
        zoneinfo.ZoneInfo("Europe/Amsterdam"),
        '{"__classname__": "zoneinfo.ZoneInfo", "__version__": 1, "__data__": "Europe/Amsterdam"}',
        zoneinfo.ZoneInfo("Europe/Amsterdam"),
    ),
    "pendulum zone": (
        pendulum.timezone("Europe/Amsterdam"),
        '{"__classname__": "pendulum.tz.timezone.Timezone", "__version__": 1, '
        '"__data__": "Europe/Amsterdam"}',
        pendulum.timezone("Europe/Amsterdam"),
    ),
    "plain data": ({"a": [1, "x", None, True, 2.5]}, '{"a": [1, "x", null, true, 2.5]}', None),
}


@pytest.mark.parametrize("name", list(RECORDED))
def test_values_serialize_as_airflow_writes_them_and_come_back(name: str) -> None:
    value, text, back = RECORDED[name]
    assert json.dumps(serde.serialize(value)) == text
    read = serde.deserialize(json.loads(text))
    expected = value if back is None else back
    assert read == expected
    assert type(read) is type(expected)


def test_a_datetime_comes_back_in_its_zone_as_pendulum_reads_it() -> None:
    read = serde.deserialize(serde.serialize(dt.datetime(2024, 1, 2, tzinfo=dt.UTC)))
    assert read.tzinfo == pendulum.timezone("UTC")
    amsterdam = pendulum.datetime(2024, 6, 1, 12, tz="Europe/Amsterdam")
    back = serde.deserialize(serde.serialize(amsterdam))
    assert isinstance(back, pendulum.DateTime)
    assert back.timezone_name == "Europe/Amsterdam"
    assert back.hour == 12


@pytest.mark.parametrize(
    "value",
    [dt.time(3, 4, 5), Color.RED, b"ab", 1j],
    ids=["time", "plain enum", "bytes", "complex"],
)
def test_what_airflow_cannot_serialize_is_refused_with_its_message(value: Any) -> None:
    with pytest.raises(TypeError, match="Cannot serialize object of type"):
        serde.serialize(value)


def test_a_dict_with_a_reserved_key_is_refused() -> None:
    with pytest.raises(AttributeError, match="reserved key"):
        serde.serialize({"__classname__": "x"})


def test_a_subclass_of_a_builtin_is_not_taken_for_it() -> None:
    class Stamp(dt.datetime):
        pass

    with pytest.raises(TypeError, match="Cannot serialize"):
        serde.serialize(Stamp(2024, 1, 1))


def test_numpy_scalars_are_wrapped_by_their_class_name() -> None:
    int64 = type("int64", (int,), {"__module__": "numpy"})
    float64 = type("float64", (float,), {"__module__": "numpy"})
    assert serde.serialize(int64(5)) == serde.encode("numpy.int64", 1, 5)
    assert serde.serialize(float64(2.5)) == serde.encode("numpy.float64", 1, 2.5)


def test_user_classes_need_the_allow_list_to_come_back(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = json.loads(json.dumps(serde.serialize(Box(1))))
    assert stored == {
        "__classname__": f"{__name__}.Box",
        "__version__": 0,
        "__data__": {"a": 1, "b": serde.encode("builtins.tuple", 1, [1, 2])},
    }
    serde.forget_patterns()
    with pytest.raises(ImportError, match="was not found in allow list"):
        serde.deserialize(stored)
    monkeypatch.setenv("AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES", "airflow.* tests.unit.*")
    serde.forget_patterns()
    try:
        assert serde.deserialize(stored) == Box(1, (1, 2))
        assert serde.deserialize(serde.serialize(Pair(2))) == Pair(2)
        assert serde.deserialize(serde.serialize(Model(name="x"))) == Model(name="x")
        own = serde.deserialize(serde.serialize(Own(5)))
        assert own == ("Own", {"v": 5, "t": (1, 2)}, 3)
    finally:
        monkeypatch.delenv("AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES")
        serde.forget_patterns()


def test_the_regexp_allow_list_matches_whole_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP",
        r"tests\.unit\.test_xcom_serde\.B.*",
    )
    serde.forget_patterns()
    try:
        assert serde.allowed(f"{__name__}.Box")
        assert not serde.allowed(f"{__name__}.Pair")
        assert not serde.allowed(f"x{__name__}.Box")
        assert serde.allowed("airlane.sdk.assets.Asset")  # Airlane's own, as airflow.* is
    finally:
        monkeypatch.delenv("AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP")
        serde.forget_patterns()


def test_the_readable_form_is_airflows_stringified_one() -> None:
    value = {"t": (1, dt.date(2024, 1, 2)), "d": decimal.Decimal("2.5"), "s": frozenset([1])}
    assert serde.stringify(json.loads(json.dumps(serde.serialize(value)))) == {
        "t": "(1,{'__classname__': 'datetime.date', '__version__': 2, '__data__': '2024-01-02'})",
        "d": "decimal.Decimal@version=1(2.5)",
        "s": "(1)",
    }
    assert serde.stringify(serde.serialize(Box(1))) == f"{__name__}.Box@version=0(a=1,b=(1,2))"
    assert serde.stringify([1, {"a": None}]) == [1, {"a": None}]


def _ti(xcoms: InMemoryXComs) -> RuntimeTaskInstance:
    with DAG("d", schedule=None) as dag:
        task = EmptyOperator(task_id="t")
    return RuntimeTaskInstance(dag, task, "r", -1, 1, 0, None, xcoms, 1 << 20)


def test_a_pushed_value_is_pulled_as_its_own_type() -> None:
    xcoms = InMemoryXComs()
    ti = _ti(xcoms)
    when = pendulum.datetime(2024, 1, 2, 3, tz="UTC")
    ti.xcom_push("pair", (1, "a"))
    ti.xcom_push("seen", {3})
    ti.xcom_push("when", when)
    ti.xcom_push("plain", [1, 2])
    assert xcoms.values[("t", -1, "pair")] == serde.encode("builtins.tuple", 1, [1, "a"])
    assert ti.xcom_pull(task_ids="t", key="pair") == (1, "a")
    assert ti.xcom_pull(task_ids="t", key="seen") == {3}
    assert ti.xcom_pull(task_ids="t", key="when") == when
    assert ti.xcom_pull(task_ids="t", key="plain") == [1, 2]
    # a downstream task can be mapped over a sequence or a dict, not over a set
    assert ti.pushed_lengths == {"pair": 2, "plain": 2}


def test_encode_xcom_names_the_push_it_refuses() -> None:
    from airlane.sdk.exceptions import AirflowException

    with pytest.raises(AirflowException, match=r"XCom value of t \(key 'k'\) cannot be serialized"):
        encode_xcom(dt.time(1), 1 << 20, "t (key 'k')")
    assert decode_xcom(encode_xcom((1,), 1 << 20, "t")) == (1,)
