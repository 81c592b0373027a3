"""A tiny Python project made in a test's folder, installable offline: its pyproject.toml names
an in-tree build backend (``backend-path``) that needs nothing from an index, so pip and uv build
it without the network. Installed in a task's virtualenv, it is a package the worker lacks."""

from __future__ import annotations

from pathlib import Path

_BACKEND = """
import base64, hashlib, os, zipfile

NAME, VERSION = "{name}", "0.1"
DIST = NAME + "-" + VERSION


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{{path}},sha256={{digest}},{{len(data)}}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {{
        NAME + ".py": open(os.path.join(os.path.dirname(__file__), NAME + ".py"), "rb").read(),
        DIST + ".dist-info/METADATA": f"Metadata-Version: 2.1\\nName: {{NAME}}\\n"
        f"Version: {{VERSION}}\\n".encode(),
        DIST + ".dist-info/WHEEL": b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\n"
        b"Tag: py3-none-any\\n",
    }}
    record = [_record_line(p, d) for p, d in files.items()] + [DIST + ".dist-info/RECORD,,"]
    files[DIST + ".dist-info/RECORD"] = ("\\n".join(record) + "\\n").encode()
    wheel = DIST + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def get_requires_for_build_wheel(config_settings=None):
    return []
"""

_PYPROJECT = """[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[project]
name = "{name}"
version = "0.1"
"""


def make_local_project(folder: Path, name: str, module_source: str) -> Path:
    """A project folder whose one module, ``<name>.py``, holds ``module_source``."""
    project = folder / name
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(_PYPROJECT.format(name=name))
    (project / "backend.py").write_text(_BACKEND.format(name=name))
    (project / f"{name}.py").write_text(module_source)
    return project
