"""XCom values as Airflow stores them: its ``serde`` format, so that a value comes back as the
type it was pushed as.

Airflow 3 (``airflow.sdk.serde``, ``airflow.serialization.serde`` in 3.1) turns every pushed
value into JSON data before it is stored, and turns it back when it is pulled: primitives and
lists as they are, dicts with their keys made strings, and every other value as
``{"__classname__": ..., "__version__": ..., "__data__": ...}``: tuples (named tuples too), sets
and frozensets; datetimes (pendulum's too, with their time zone), dates and timedeltas;
``Decimal``; ``UUID``; time zones; numpy's scalars; pydantic models; any class with
``serialize()`` and ``deserialize(data, version)``; dataclasses and attrs classes. What it cannot
serialize (``datetime.time``, bytes, a plain ``Enum``, an ndarray) fails the push with its
``TypeError``. A pulled value whose class is not one of those builtin ones is imported only when
``[core] allowed_deserialization_classes`` (glob patterns, default ``airflow.*``; Airlane's own
classes too) or ``allowed_deserialization_classes_regexp`` admits it, else the pull raises
``ImportError``, as in Airflow.

The texts are Airflow's (same class names, versions and data), so values stored by Airlane read
as Airflow's would; ``stringify`` is serde's ``deserialize(full=False)``: the readable form the
API gives for ``deserialize=true``. Not carried over: Airflow's pandas, deltalake, iceberg and
kubernetes serializers, and the pre-2.5 ``__type``/``__var`` form (no Airlane store holds it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import functools
import re
import uuid
import zoneinfo
from collections.abc import Callable
from fnmatch import fnmatch
from typing import Any

from airlane.sdk.module_loading import import_string, qualname

CLASSNAME = "__classname__"
VERSION = "__version__"
DATA = "__data__"
SCHEMA_ID = "__id__"

_PRIMITIVES = (int, bool, float, str)
_COLLECTIONS = (frozenset, list, set, tuple)
#: classes whose values pulled back need no allow-list entry (Airflow registers their
#: deserializers, which admits them), by the version Airflow writes
_BUILTIN_VERSIONS = {
    "builtins.tuple": 1,
    "builtins.set": 1,
    "builtins.frozenset": 1,
    "datetime.datetime": 2,
    "datetime.date": 2,
    "datetime.timedelta": 2,
    "pendulum.datetime.DateTime": 2,
    "pendulum.date.Date": 2,
    "decimal.Decimal": 1,
    "uuid.UUID": 1,
    "zoneinfo.ZoneInfo": 1,
    "pendulum.tz.timezone.Timezone": 1,
    "pendulum.tz.timezone.FixedTimezone": 1,
}
_NUMPY_SCALARS = frozenset(
    f"numpy.{name}"
    for name in (
        *("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
        *("float64", "float32", "float16", "complex128", "complex64", "bool", "bool_"),
    )
)
PYDANTIC_MODEL = "pydantic.main.BaseModel"
#: Airlane's own classes (what ``airflow.*`` names in Airflow) are always admitted
_OWN_PREFIX = "airlane."
MAX_DEPTH = 900


def encode(classname: str, version: int, data: Any) -> dict[str, Any]:
    return {CLASSNAME: classname, VERSION: version, DATA: data}


# ---- serialize -----------------------------------------------------------------------------


def serialize(o: object, depth: int = 0) -> Any:
    """``o`` as JSON data (Airflow's ``serde.serialize``); ``TypeError`` when it has no form."""
    if depth == MAX_DEPTH:
        raise RecursionError("maximum recursion depth reached for serialization")
    if o is None:
        return None
    if isinstance(o, list):
        return [serialize(d, depth + 1) for d in o]
    if isinstance(o, dict):
        if CLASSNAME in o or SCHEMA_ID in o:
            raise AttributeError(
                f"reserved key {CLASSNAME} or {SCHEMA_ID} found in dict to serialize"
            )
        return {str(k): serialize(v, depth + 1) for k, v in o.items()}
    # (as Airflow: by the exact class, so a named tuple is a tuple, numpy's float64 is not a
    # float, and a subclass of a builtin is not taken for it)
    name = "builtins.tuple" if _is_namedtuple(o) else qualname(o)
    serializer = _SERIALIZERS.get(name)
    if serializer is not None:
        found = serializer(o)
        if found is not None:
            classname, version, data = found
            return encode(classname, version, serialize(data, depth + 1))
    if isinstance(o, _PRIMITIVES):
        return o.value if isinstance(o, enum.Enum) else o
    return _serialize_object(o, depth)


def _is_namedtuple(o: object) -> bool:
    return hasattr(o, "_asdict") and hasattr(o, "_fields") and hasattr(o, "_field_defaults")


def _datetime_data(o: Any) -> tuple[str, int, Any]:
    tz = _timezone(o.tzinfo) if o.tzinfo else None
    return qualname(o), 2, {"timestamp": o.timestamp(), "tz": tz}


def _decimal_data(o: Any) -> tuple[str, int, Any]:
    exponent = o.as_tuple().exponent
    integral = isinstance(exponent, int) and exponent >= 0  # no digits after the point
    return "decimal.Decimal", 1, int(o) if integral else float(o)


def _timezone_data(o: Any) -> tuple[str, int, Any] | None:
    found = _timezone(o)
    return None if found is None else (found[1], found[2], found[0])


#: Airflow's registered serializers, by the exact class they take: (class name, version, data)
_SERIALIZERS: dict[str, Callable[[Any], tuple[str, int, Any] | None]] = {
    "builtins.tuple": lambda o: ("builtins.tuple", 1, list(o)),
    "builtins.set": lambda o: ("builtins.set", 1, list(o)),
    "builtins.frozenset": lambda o: ("builtins.frozenset", 1, list(o)),
    "datetime.datetime": _datetime_data,
    "pendulum.datetime.DateTime": _datetime_data,
    "datetime.date": lambda o: (qualname(o), 2, o.isoformat()),
    "pendulum.date.Date": lambda o: (qualname(o), 2, o.isoformat()),
    "datetime.timedelta": lambda o: ("datetime.timedelta", 2, o.total_seconds()),
    "decimal.Decimal": _decimal_data,
    "uuid.UUID": lambda o: ("uuid.UUID", 1, str(o)),
    "zoneinfo.ZoneInfo": _timezone_data,
    "pendulum.tz.timezone.Timezone": _timezone_data,
    "pendulum.tz.timezone.FixedTimezone": _timezone_data,
}


def _numpy_data(o: Any) -> tuple[str, int, Any]:
    """A numpy scalar (only numpy makes them: its classes are named, not imported, here)."""
    name = qualname(o)
    if name.startswith("numpy.int") or name.startswith("numpy.uint"):
        data: Any = int(o)
    elif name.startswith("numpy.bool"):
        data = bool(o)
    else:
        data = float(o)
    return name, 1, data


_SERIALIZERS.update(dict.fromkeys(_NUMPY_SCALARS, _numpy_data))


def _timezone(tz: dt.tzinfo) -> tuple[Any, str, int, bool] | None:
    """A time zone as Airflow's timezone serializer gives it (data, class name, version, True):
    a datetime keeps it as that tuple."""
    from pendulum.tz.timezone import FixedTimezone

    name = qualname(tz)
    if isinstance(tz, FixedTimezone):
        return ("UTC" if tz.offset == 0 else tz.offset), name, 1, True
    key = _tz_name(tz)
    if key is not None:
        return key, name, 1, True
    if tz.utcoffset(None) == dt.timedelta(0):
        return "UTC", qualname(FixedTimezone), 1, True
    return None


def _tz_name(tz: dt.tzinfo) -> str | None:
    for attribute in ("key", "name", "zone"):  # zoneinfo, pendulum, pytz
        value = getattr(tz, attribute, None)
        if isinstance(value, str):
            return value
    return None


def _serialize_object(o: object, depth: int) -> dict[str, Any]:
    cls = type(o)
    if _is_pydantic_model(o):
        data = o.model_dump(mode="json")  # type: ignore[attr-defined]
        return encode(qualname(o), 1, serialize(data, depth + 1))
    dct: dict[str, Any] = {CLASSNAME: qualname(o), VERSION: getattr(cls, "__version__", 0)}
    own = getattr(o, "serialize", None)
    if own is not None:
        data = own()
        dct[DATA] = serialize(data, depth + 1) if isinstance(data, dict) else data
        return dct
    if dataclasses.is_dataclass(cls):
        dct[DATA] = serialize(dataclasses.asdict(o), depth + 1)  # type: ignore[call-overload]
        return dct
    attrs = _attrs_fields(o)
    if attrs is not None:
        dct[DATA] = serialize(attrs, depth + 1)
        return dct
    raise TypeError(
        f"Cannot serialize object of type {cls}. Give it a `serialize()` method and a "
        "`deserialize(data, version)` staticmethod, or decorate the class with @dataclass or "
        "@attr.define. See: https://airflow.apache.org/docs/apache-airflow/stable/"
        "authoring-and-scheduling/serializers.html"
    )


def _is_pydantic_model(o: object) -> bool:
    cls = o if isinstance(o, type) else type(o)
    return (
        hasattr(cls, "model_fields")
        and hasattr(cls, "model_dump")
        and hasattr(cls, "model_validate")
    )


def _attrs_fields(o: object) -> dict[str, Any] | None:
    """An attrs instance's attributes that its constructor takes (None for other objects)."""
    fields = getattr(type(o), "__attrs_attrs__", None)
    if fields is None:
        return None
    return {f.name: getattr(o, f.name) for f in fields if getattr(f, "init", True)}


# ---- deserialize ---------------------------------------------------------------------------


def deserialize(o: Any, full: bool = True) -> Any:
    """What ``serialize`` made, as the value it was (``full``), or readable text in place of
    each object (``full=False``: Airflow's stringified form, no class imported)."""
    if o is None or isinstance(o, _PRIMITIVES):
        return o
    if isinstance(o, _COLLECTIONS):
        col = [deserialize(d, full) for d in o]
        if isinstance(o, tuple):
            return tuple(col)
        return set(col) if isinstance(o, set) else col
    if not isinstance(o, dict):
        return o
    if CLASSNAME not in o or VERSION not in o:
        return {str(k): deserialize(v, full) for k, v in o.items()}
    classname, version = o[CLASSNAME], o[VERSION]
    if not isinstance(classname, str) or not isinstance(version, int):
        raise ValueError(f"cannot decode {o!r}")
    value = o.get(DATA)
    if not full:
        return _stringify(classname, version, value)
    if classname in _BUILTIN_VERSIONS or classname in _NUMPY_SCALARS:
        return _deserialize_builtin(classname, version, deserialize(value))
    if not allowed(classname):
        raise ImportError(
            f"{classname} was not found in allow list for deserialization imports. "
            "To allow it, add it to allowed_deserialization_classes in the configuration"
        )
    return _deserialize_object(import_string(classname), classname, version, value)


def _deserialize_builtin(classname: str, version: int, data: Any) -> Any:
    newest = _BUILTIN_VERSIONS.get(classname, 1)
    if version > newest:
        raise TypeError(f"serialized version {version} of {classname} is newer than {newest}")
    builder = _BUILDERS.get(classname)
    if builder is not None:
        return builder(version, data)
    return import_string(classname)(data)  # a numpy scalar


def _collection(kind: Callable[[Any], Any]) -> Callable[[int, Any], Any]:
    return lambda _version, data: kind(data)


def _datetime(pendulum_type: bool) -> Callable[[int, Any], Any]:
    def build(version: int, data: Any) -> Any:
        tz = _datetime_tz(version, data)
        if not isinstance(data, dict):
            return dt.datetime.fromtimestamp(float(data), tz=dt.UTC)  # (Airflow's legacy form)
        if pendulum_type:
            from pendulum import DateTime

            return DateTime.fromtimestamp(float(data["timestamp"]), tz=tz)
        return dt.datetime.fromtimestamp(float(data["timestamp"]), tz=tz)

    return build


def _datetime_tz(version: int, data: Any) -> dt.tzinfo | None:
    if not isinstance(data, dict) or not data.get("tz"):
        return None
    tz = data["tz"]
    if version == 1:  # a name, in Airflow 2.5's form
        return parse_timezone(tz)
    return parse_timezone(tz[0])


def parse_timezone(name: str | int) -> dt.tzinfo:
    """A time zone by name or offset in seconds, as Airflow's ``parse_timezone`` (pendulum)."""
    import pendulum

    if isinstance(name, int):
        return pendulum.FixedTimezone(name)
    return pendulum.timezone(name)


def _date(pendulum_type: bool) -> Callable[[int, Any], Any]:
    def build(_version: int, data: Any) -> Any:
        if pendulum_type:
            from pendulum import Date

            return Date.fromisoformat(data)
        return dt.date.fromisoformat(data)

    return build


def _timezone_value(kind: str) -> Callable[[int, Any], Any]:
    def build(_version: int, data: Any) -> Any:
        if not isinstance(data, str | int):
            raise TypeError(f"{data} is not of type int or str but of {type(data)}")
        if kind == "zoneinfo" and isinstance(data, str):
            return zoneinfo.ZoneInfo(data)
        return parse_timezone(data)

    return build


_BUILDERS: dict[str, Callable[[int, Any], Any]] = {
    "builtins.tuple": _collection(tuple),
    "builtins.set": _collection(set),
    "builtins.frozenset": _collection(frozenset),
    "datetime.datetime": _datetime(pendulum_type=False),
    "pendulum.datetime.DateTime": _datetime(pendulum_type=True),
    "datetime.date": _date(pendulum_type=False),
    "pendulum.date.Date": _date(pendulum_type=True),
    "datetime.timedelta": lambda _version, data: dt.timedelta(seconds=float(data)),
    "decimal.Decimal": lambda _version, data: decimal.Decimal(str(data)),
    "uuid.UUID": lambda _version, data: uuid.UUID(data),
    "zoneinfo.ZoneInfo": _timezone_value("zoneinfo"),
    "pendulum.tz.timezone.Timezone": _timezone_value("pendulum"),
    "pendulum.tz.timezone.FixedTimezone": _timezone_value("pendulum"),
}


def _deserialize_object(cls: Any, classname: str, version: int, value: Any) -> Any:
    if _is_pydantic_model(cls):
        return cls.model_validate(deserialize(value))
    own = getattr(cls, "deserialize", None)
    if own is not None:
        return own(deserialize(value), version)
    if dataclasses.is_dataclass(cls) or hasattr(cls, "__attrs_attrs__"):
        newest = getattr(cls, "__version__", 0)
        if int(version) > newest:
            raise TypeError(
                f"serialized version of {classname} is newer than module version "
                f"({version} > {newest})"
            )
        data = deserialize(value)
        if not isinstance(data, dict):
            raise TypeError(f"deserialized value for {classname} is not a dict, got {type(data)}")
        return cls(**data)
    raise TypeError(
        f"No deserializer found for {classname}. It must provide a `deserialize(data, version)` "
        "staticmethod (matching how it serializes), or be decorated with @dataclass or "
        "@attr.define."
    )


def _stringify(classname: str, version: int, value: Any) -> str:
    """Airflow's readable form of a serialized object (``deserialize(full=False)``)."""
    if classname in ("builtins.tuple", "builtins.set", "builtins.frozenset"):
        return "(" + ",".join(str(d) for d in value) + ")"
    text = f"{classname}@version={version}("
    if isinstance(value, _PRIMITIVES):
        text += f"{value}"
    elif isinstance(value, _COLLECTIONS):
        text += ",".join(str(deserialize(value, full=False)))
    elif isinstance(value, dict):
        text += ",".join(f"{k}={deserialize(v, full=False)}" for k, v in value.items())
    return text + ")"


def stringify(o: Any) -> Any:
    """``deserialize(o, full=False)``: what the API gives for an XCom with ``deserialize=true``."""
    return deserialize(o, full=False)


# ---- the allow list ------------------------------------------------------------------------


def allowed(classname: str) -> bool:
    """Whether a pulled value's class may be imported: Airlane's own, or admitted by
    ``allowed_deserialization_classes`` (globs) or its ``_regexp`` sibling (full matches)."""
    if classname.startswith(_OWN_PREFIX):
        return True
    globs, regexps = _patterns()
    return any(fnmatch(classname, p) for p in globs) or any(
        r.fullmatch(classname) is not None for r in regexps
    )


@functools.cache
def _patterns() -> tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]:
    from airlane.sdk.configuration import conf

    globs = tuple(conf.get("core", "allowed_deserialization_classes", fallback="").split())
    regexps = conf.get("core", "allowed_deserialization_classes_regexp", fallback="").split()
    return globs, tuple(re.compile(p) for p in regexps)


def forget_patterns() -> None:
    """Read the allow list again on the next pull (its settings changed: tests)."""
    _patterns.cache_clear()


def is_mappable_value(value: Any) -> bool:
    """Whether a pushed value can be mapped over (Airflow's ``is_mappable_value``): a sequence
    with an order (not text or bytes) or a dict."""
    from collections.abc import Sequence

    if not isinstance(value, Sequence | dict):
        return False
    return not isinstance(value, bytearray | bytes | str)
