"""Refusing providers that need Airflow's metadata database.

Airlane keeps its state in Redis; it has no SQLAlchemy session, no ORM models of DAGs, jobs or
rendered fields. A provider whose code opens such a session or queries those models (the
cncf-kubernetes provider's executor and template rendering, for instance) cannot work here,
whatever the shim serves, so ``airlane providers install`` refuses it before installing anything.

The rule, read from the provider's source without importing it: an import that runs (outside an
``if TYPE_CHECKING:`` block) of one of Airflow's database modules below, or of one of its ORM
classes from ``airflow.models`` / ``airflow.settings``. Imports of ``airflow.models.*`` that
Airlane serves (``Connection``, ``Variable``, ``BaseOperator``, ``TaskInstance`` as a type...)
do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: Airflow modules that exist to reach the metadata database
DATABASE_MODULES: tuple[str, ...] = (
    "airflow.utils.session",
    "airflow.utils.db",
    "airflow.utils.sqlalchemy",
    "airflow.jobs",
    "airflow.models.dagbag",
    "airflow.models.dagcode",
    "airflow.models.dagwarning",
    "airflow.models.dag_version",
    "airflow.models.serialized_dag",
    "airflow.models.renderedtifields",
    "airflow.models.taskreschedule",
    "airflow.models.trigger",
    "airflow.models.log",
    "airflow.models.backfill",
)

#: (module, name): ORM classes and the session factory imported by name
DATABASE_NAMES: frozenset[tuple[str, str]] = frozenset(
    {
        ("airflow.settings", "Session"),
        ("airflow.settings", "engine"),
        ("airflow.models", "DagModel"),
        ("airflow.models", "DagBag"),
        ("airflow.models", "DagTag"),
        ("airflow.models", "Log"),
        ("airflow.models", "Trigger"),
        ("airflow.models", "TaskReschedule"),
        ("airflow.models", "RenderedTaskInstanceFields"),
        ("airflow.models.dag", "DagModel"),
    }
)


@dataclass(frozen=True)
class DatabaseUse:
    """Where a provider reaches Airflow's database: ``path:line imports what``."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.what}"


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: ``if TYPE_CHECKING:`` bodies are left out."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _is_database_module(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in DATABASE_MODULES)


def _database_import(node: ast.Import | ast.ImportFrom) -> str | None:
    if isinstance(node, ast.Import):
        found = [alias.name for alias in node.names if _is_database_module(alias.name)]
        return found[0] if found else None
    if node.level or node.module is None:
        return None
    if _is_database_module(node.module):
        return node.module
    for alias in node.names:
        if (node.module, alias.name) in DATABASE_NAMES:
            return f"{node.module}.{alias.name}"
    return None


def database_uses(source: str, path: str) -> list[DatabaseUse]:
    """The database imports in one Python file's source (none if it does not parse)."""
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError):
        return []
    uses = []
    for node in _runtime_imports(tree):
        what = _database_import(node)
        if what is not None:
            uses.append(DatabaseUse(path, node.lineno, what))
    return sorted(uses, key=lambda use: (use.path, use.line))


def scan_files(files: Iterable[tuple[str, Path]]) -> list[DatabaseUse]:
    """``(shown path, file)`` pairs of a provider's Python files -> its database imports."""
    uses: list[DatabaseUse] = []
    for shown, file in files:
        uses.extend(database_uses(file.read_text(encoding="utf-8", errors="replace"), shown))
    return uses
