"""Finding DAG files: recursion, .airflowignore (glob and regexp), safe mode."""

from __future__ import annotations

from pathlib import Path

from airlane.dag_loader.discovery import list_dag_files

DAG_TEXT = "from airflow import DAG\n"


def make(tmp_path: Path, names: list[str], ignore: dict[str, str]) -> None:
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(DAG_TEXT)
    for folder, text in ignore.items():
        (tmp_path / folder / ".airflowignore").write_text(text)


def found(tmp_path: Path, **kwargs: object) -> list[str]:
    return [str(Path(p).relative_to(tmp_path)) for p in list_dag_files(str(tmp_path), **kwargs)]  # type: ignore[arg-type]


def test_glob_ignore_files_apply_to_their_folder_and_below(tmp_path: Path) -> None:
    make(
        tmp_path,
        [
            "a.py",
            "b_test.py",
            "lib/helpers.py",
            "team/c.py",
            "team/old/d.py",
            "team/e_test.py",
            "keep/x.py",
        ],
        {".": "*_test.py\nlib/\n# comment\n", "team": "old\n"},
    )
    assert found(tmp_path) == ["a.py", "keep/x.py", "team/c.py"]


def test_glob_negation(tmp_path: Path) -> None:
    make(tmp_path, ["a_test.py", "b_test.py"], {".": "*_test.py\n!b_test.py\n"})
    assert found(tmp_path) == ["b_test.py"]


def test_regexp_syntax(tmp_path: Path) -> None:
    make(tmp_path, ["a.py", "skip_me.py", "sub/skip_too.py"], {".": "skip_\n"})
    assert found(tmp_path, syntax="regexp") == ["a.py"]


def test_safe_mode_skips_files_that_cannot_hold_a_dag(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("x = 1\n")
    (tmp_path / "native.py").write_text("from airlane import DAG\n")
    (tmp_path / "notes.txt").write_text(DAG_TEXT)
    assert found(tmp_path) == ["native.py"]
    assert found(tmp_path, safe_mode=False) == ["native.py", "plain.py"]
