"""sdk.assets: Asset's URI rules and identity, aliases, conditions, their JSON forms.

Expected values were computed with the real Airflow 3.1.8 (``Asset(value).uri`` and
``as_expression()`` in /work/airflow-venv-3).
"""

from __future__ import annotations

import warnings

import pytest

from airlane.sdk.assets import (
    Asset,
    AssetAlias,
    AssetAll,
    AssetAny,
    AssetWatcher,
    Dataset,
    as_asset_condition,
)
from airlane.sdk.triggers.file import FileDeleteTrigger, FileTrigger

# value -> Asset(value).uri in Airflow 3.1.8
AIRFLOW_URIS = {
    "s3://A/b/?z=1&a=2#x": "s3://A/b?a=2&z=1",
    "s3://x": "s3://x/",
    "S3://Bucket/Key//": "s3://Bucket/Key",
    "file:///tmp/x/": "file:///tmp/x",
    "example_asset": "example_asset",
    "x-custom://Host/p/?b=2&a=1": "x-custom://Host/p/?b=2&a=1",
    "postgres://user:pw@host:5432/db/schema/table": "postgres://host:5432/db/schema/table",
    "http://user@host/p": "http://user@host/p",
    "gcs://b/o?x=1&x=0": "gcs://b/o?x=0&x=1",
    "FILE://h/p#frag": "file://h/p",
    "relative/path/": "relative/path/",
    "s3:///": "s3:/",
    "//netloc/only": "//netloc/only",
    "mailto:someone": "mailto:someone",
    "s3://b/\u00fc": "s3://b/\u00fc",
}


@pytest.mark.parametrize(("value", "uri"), AIRFLOW_URIS.items())
def test_uri_is_sanitized_as_airflow_does(value: str, uri: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        asset = Asset(value)
    assert asset.uri == uri
    assert asset.name == value


def test_a_password_is_dropped_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="should not contain a password"):
        Asset("postgres://u:p@h/db")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "airflow://x"}, "Asset scheme 'airflow' is reserved"),
        ({"name": ""}, "Asset name cannot be empty"),
        ({"name": "   "}, "Asset name cannot be just whitespace"),
        ({"name": "self"}, "prohibited name for asset: self"),
        ({"name": "context"}, "prohibited name for asset: context"),
        ({"name": "a" * 1501}, "Asset name cannot exceed 1500 characters"),
        ({"name": "x", "group": " "}, "Asset group cannot be just whitespace"),
        ({"uri": "s3://a", "name": "self"}, "prohibited name for asset: self"),
    ],
)
def test_invalid_assets_are_refused_with_airflows_messages(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        Asset(**kwargs)


def test_asset_needs_a_name_or_a_uri() -> None:
    with pytest.raises(TypeError, match="requires either 'name' or 'uri'"):
        Asset()
    with pytest.raises(ValueError, match="AssetAlias name cannot be empty"):
        AssetAlias("")


def test_name_and_uri_default_to_each_other_and_groups() -> None:
    a = Asset(uri="s3://b/k")
    assert (a.name, a.uri, a.group, a.extra) == ("s3://b/k", "s3://b/k", "asset", {})
    b = Asset("n")
    assert (b.name, b.uri) == ("n", "n")
    assert Dataset("s3://d").group == "dataset"
    assert Dataset("s3://d", {"hi": "bye"}).extra == {
        "hi": "bye"
    }  # Airflow 2's Dataset(uri, extra)
    assert Asset("n", extra={"k": 1}) == Asset("n", extra={"k": 1})
    assert Asset("n") != Asset("n", extra={"k": 1})
    assert len({Asset("n"), Asset("n")}) == 1
    assert a.__fspath__() == "s3://b/k"


def test_refs_are_assets8_shapes() -> None:
    a = Asset(name="n", uri="s3://b/k", group="g", extra={"k": 1})
    assert a.as_ref() == {"name": "n", "uri": "s3://b/k", "group": "g", "extra": {"k": 1}}
    assert AssetAlias("al").as_ref() == {"alias": "al", "group": "asset"}
    watched = Asset(
        "w", watchers=[AssetWatcher(name="wt", trigger=FileDeleteTrigger(filepath="/f"))]
    )
    (watcher,) = watched.as_ref()["watchers"]
    assert watcher["name"] == "wt"
    assert watcher["trigger"]["classpath"].endswith("file.FileDeleteTrigger")
    assert watcher["trigger"]["kwargs"]["filepath"] == "/f"


def test_conditions_combine_and_flatten_as_airflows() -> None:
    a, b, c = Asset(name="n", uri="s3://b/k", group="g"), Asset("s3://c"), Asset("d")
    cond = (a | AssetAlias("al")) & b
    assert isinstance(cond, AssetAll)
    # Airflow 3.1.8: ((a | AssetAlias("al")) & b).as_expression()
    assert cond.as_expression() == {
        "all": [
            {
                "any": [
                    {"asset": {"uri": "s3://b/k", "name": "n", "group": "g"}},
                    {"alias": {"name": "al", "group": "asset"}},
                ]
            },
            {"asset": {"uri": "s3://c/", "name": "s3://c", "group": "asset"}},
        ]
    }
    assert cond.as_condition() == {
        "all": [{"any": [{"asset": "n"}, {"alias": "al"}]}, {"asset": "s3://c"}]
    }
    flat = a | b | c
    assert isinstance(flat, AssetAny)
    assert len(flat.objects) == 3
    assert len((a & b & c).objects) == 3  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        AssetAll(a, "b")  # type: ignore[arg-type]


def test_a_list_schedule_is_all_of_its_assets() -> None:
    a, b = Asset("a"), Asset("b")
    cond = as_asset_condition([a, b])
    assert cond is not None
    assert cond.as_condition() == {"all": [{"asset": "a"}, {"asset": "b"}]}
    assert as_asset_condition("@daily") is None
    empty = as_asset_condition([])  # Airflow 3.1.8: AssetTriggeredTimetable(AssetAll())
    assert empty is not None
    assert empty.as_condition() == {"all": []}
    with pytest.raises(ValueError, match="All elements in 'schedule' should be either assets"):
        as_asset_condition([a, "x"])


def test_watcher_refuses_a_trigger_that_is_no_event_trigger() -> None:
    with pytest.raises(ValueError, match="must inherit ``BaseEventTrigger``"):
        AssetWatcher(name="w", trigger=FileTrigger(filepath="/f"))


def test_asset_access_control_is_accepted_as_airflow_without_multi_team() -> None:
    """Airflow 3.3's ``AssetAccessControl``: validated as Airflow validates it; it filters
    events only in Airflow's multi-team mode, which Airlane does not have (its default)."""
    from airlane.sdk import AssetAccessControl

    control = AssetAccessControl(producer_teams=["team_analytics"], allow_global=False)
    asset = Asset(name="shared_data", uri="s3://lake/shared.csv", access_control=control)
    assert asset.access_control is control
    assert Asset("plain").access_control == AssetAccessControl()
    with pytest.raises(ValueError, match="Each entry in producer_teams must be a non-empty string"):
        AssetAccessControl(producer_teams=[" "])
    with pytest.raises(TypeError, match="access_control must be an AssetAccessControl"):
        Asset("bad", access_control={"producer_teams": []})  # type: ignore[arg-type]
