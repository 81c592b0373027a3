"""providers-standard's DirectoryFileDeleteTrigger (Airflow 3.3's example_asset_with_watchers):
fires once its own file is in the directory, deleting it; waits for a directory that does not
exist yet; fails for a path that is not a directory."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from airlane.sdk.triggers import file as file_triggers
from airlane.sdk.triggers.file import DirectoryFileDeleteTrigger


def _first_event(trigger: DirectoryFileDeleteTrigger) -> object:
    async def first() -> object:
        events = trigger.run()
        return await asyncio.wait_for(anext(events), timeout=10)

    return asyncio.run(first())


def test_each_trigger_fires_for_its_own_file_and_deletes_it(tmp_path: Path) -> None:
    (tmp_path / "us.flag").write_text("")
    (tmp_path / "eu.flag").write_text("")
    us = DirectoryFileDeleteTrigger(directory=str(tmp_path), filename="us.flag", poke_interval=0.01)
    event = _first_event(us)
    assert event.payload == {"filepath": str(tmp_path / "us.flag")}  # type: ignore[attr-defined]
    assert not (tmp_path / "us.flag").exists()
    assert (tmp_path / "eu.flag").exists()
    assert us.serialize() == (
        "airflow.providers.standard.triggers.file.DirectoryFileDeleteTrigger",
        {"directory": str(tmp_path), "filename": "us.flag", "poke_interval": 0.01},
    )


def test_a_missing_directory_is_waited_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = tmp_path / "inbox"
    listed = threading.Event()
    real = file_triggers._names

    def names(directory: str) -> set[str]:
        found = real(directory)
        listed.set()
        return found

    monkeypatch.setattr(file_triggers, "_names", names)
    trigger = DirectoryFileDeleteTrigger(directory=str(inbox), filename="go", poke_interval=0.01)

    def land() -> None:
        listed.wait(10)  # the trigger has looked at the directory that is not there yet
        inbox.mkdir()
        (inbox / "go").write_text("")

    writer = threading.Thread(target=land)
    writer.start()
    event = _first_event(trigger)
    writer.join()
    assert event.payload == {"filepath": str(inbox / "go")}  # type: ignore[attr-defined]


def test_a_path_that_is_not_a_directory_fails_the_trigger(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("")
    trigger = DirectoryFileDeleteTrigger(directory=str(plain), filename="x", poke_interval=0.01)
    with pytest.raises(NotADirectoryError):
        _first_event(trigger)
