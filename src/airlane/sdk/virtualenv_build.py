"""Virtual environments for PythonVirtualenvOperator: created from requirements, cached by hash.

As Airflow's: a venv lives in ``<cache>/venv-<hash>``, the hash taken over the sorted requirements,
the pip options, the index URLs, the Python version, ``system_site_packages`` and the
``python_virtualenv_operator_cache_key`` Variable. A file lock (``venv-<hash>.lock``) keeps two
tries from building the same venv at once; ``install_complete_marker.json`` marks a finished
build (a venv without it is a partial one, rebuilt). ``uv venv`` + ``uv pip install`` when ``uv``
is found, else the standard library's ``venv`` and pip.

Everything here blocks: operators call it from their ``execute``, which runs in a thread.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from airlane.sdk.exceptions import AirflowException

#: the environment variable choosing how venvs are made: ``auto`` (uv when found), ``uv``, ``pip``
INSTALL_METHOD_ENV = "AIRLANE_VENV_INSTALL_METHOD"
#: the environment variable naming the default cache folder (``venv_cache_path`` not given)
CACHE_DIR_ENV = "AIRLANE_VENV_CACHE_DIR"
MARKER_NAME = "install_complete_marker.json"

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class VenvSpec:
    """What a virtualenv is made of; equal specs share one cached venv."""

    requirements: tuple[str, ...]
    python_version: str | None = None
    system_site_packages: bool = True
    pip_install_options: tuple[str, ...] = ()
    index_urls: tuple[str, ...] | None = None
    cache_key: str = ""

    @property
    def python_bin(self) -> str:
        """``python3.X`` when a version is asked for, else the interpreter running Airlane."""
        return f"python{self.python_version}" if self.python_version else sys.executable

    def hash_text(self) -> str:
        data = {
            "requirements_list": sorted(self.requirements),
            "pip_install_options": list(self.pip_install_options),
            "index_urls": list(self.index_urls) if self.index_urls is not None else None,
            "cache_key": self.cache_key,
            "python_version": self.python_version,
            "system_site_packages": self.system_site_packages,
        }
        return json.dumps(data, sort_keys=True)

    def hash(self) -> str:
        return hashlib.md5(self.hash_text().encode(), usedforsecurity=False).hexdigest()[:8]


def uv_binary() -> str | None:
    """The ``uv`` executable: on PATH, or shipped by the ``uv`` package in this environment."""
    found = shutil.which("uv")
    if found:
        return found
    if importlib.util.find_spec("uv") is not None:
        import uv  # type: ignore[import-not-found,unused-ignore]

        return str(uv.find_uv_bin())
    return None


def _pip_available() -> bool:
    return importlib.util.find_spec("pip") is not None


def use_uv() -> bool:
    method = os.environ.get(INSTALL_METHOD_ENV, "auto").lower()
    if method == "uv":
        return True
    if method == "pip":
        return False
    return uv_binary() is not None


def is_venv_installed() -> bool:
    """True when this worker can create virtual environments (uv, or ``venv`` and pip)."""
    if use_uv():
        return uv_binary() is not None
    return importlib.util.find_spec("venv") is not None and (
        _pip_available() or importlib.util.find_spec("ensurepip") is not None
    )


def default_cache_dir() -> Path:
    """``$AIRLANE_VENV_CACHE_DIR``, else ``$XDG_CACHE_HOME/airlane/venvs`` (~/.cache/...)."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "airlane" / "venvs"


def run_logged(cmd: Sequence[str], log: Log, env: dict[str, str] | None = None) -> None:
    """Run ``cmd``, each output line to ``log``; CalledProcessError when it exits non-zero."""
    log("Executing cmd: " + " ".join(cmd))
    with subprocess.Popen(
        list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            log(raw.decode(errors="replace").rstrip())
        code = proc.wait()
    if code != 0:
        raise subprocess.CalledProcessError(code, list(cmd))


def _index_env(index_urls: tuple[str, ...] | None) -> dict[str, str]:
    env = dict(os.environ)
    if index_urls:
        env["UV_DEFAULT_INDEX"] = env["PIP_INDEX_URL"] = index_urls[0]
        if len(index_urls) > 1:
            env["UV_INDEX"] = env["PIP_EXTRA_INDEX_URL"] = " ".join(index_urls[1:])
    elif index_urls is not None:  # an empty list: no index at all, as Airflow's pip.conf
        env["UV_NO_INDEX"] = env["PIP_NO_INDEX"] = "1"
    return env


def _create(venv: Path, spec: VenvSpec, log: Log) -> None:
    uv = uv_binary() if use_uv() else None
    if uv is not None:
        cmd = [uv, "venv", "--allow-existing", "--python", spec.python_bin]
    elif _pip_available() and not spec.python_version:
        # This environment's pip installs into the venv (pip --python): no ensurepip per venv
        cmd = [spec.python_bin, "-m", "venv", "--without-pip"]
    else:
        cmd = [spec.python_bin, "-m", "venv"]
    if spec.system_site_packages:
        cmd.append("--system-site-packages")
    run_logged([*cmd, str(venv)], log, env=_index_env(spec.index_urls))
    if spec.system_site_packages:
        _see_worker_packages(venv)


def _see_worker_packages(venv: Path) -> None:
    """With system site packages, the venv also sees the packages of the environment running
    Airlane (a venv itself, usually), after its own: ``airflow`` (Airlane's), pendulum..."""
    python = venv / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    target = Path(out.stdout.strip())
    probe = [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    version = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()
    if version != f"{sys.version_info.major}.{sys.version_info.minor}":
        return  # another Python cannot use this environment's compiled packages
    import site

    found = site.getsitepackages()
    if site.ENABLE_USER_SITE:
        found.append(site.getusersitepackages())
    dirs = [d for d in found if os.path.isdir(d)]
    lines = [f"import site; site.addsitedir({d!r})" for d in dirs]
    (target / "_airlane_worker_site.pth").write_text("\n".join(lines) + "\n")


def _install(venv: Path, spec: VenvSpec, log: Log) -> None:
    if not spec.requirements:
        return
    requirements_file = venv / "requirements.txt"
    requirements_file.write_text("\n".join(spec.requirements))
    python = str(venv / "bin" / "python")
    options = list(spec.pip_install_options)
    uv = uv_binary() if use_uv() else None
    if uv is not None:
        cmd = [uv, "pip", "install", "--python", python, *options, "-r", str(requirements_file)]
    elif (venv / "bin" / "pip").exists():
        cmd = [str(venv / "bin" / "pip"), "install", *options, "-r", str(requirements_file)]
    else:
        pip = [sys.executable, "-m", "pip", "--python", python]
        cmd = [*pip, "install", *options, "-r", str(requirements_file)]
    run_logged(cmd, log, env=_index_env(spec.index_urls))


def build_venv(venv: Path, spec: VenvSpec, log: Log) -> Path:
    """Create ``venv`` and install the requirements; returns its Python."""
    _create(venv, spec, log)
    _install(venv, spec, log)
    return venv / "bin" / "python"


def ensure_cached_venv(cache_dir: Path, spec: VenvSpec, log: Log) -> Path:
    """The cached venv for ``spec`` under ``cache_dir``, built once (under a file lock)."""
    venv = cache_dir / f"venv-{spec.hash()}"
    cache_dir.mkdir(parents=True, exist_ok=True)
    marker = venv / MARKER_NAME
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if venv.exists():
            if marker.exists() and marker.read_text(encoding="utf8") == spec.hash_text():
                log(f"Reusing cached Python virtual environment in {venv}")
                return venv / "bin" / "python"
            log(f"Found a partial or outdated virtual environment in {venv}: re-creating it")
            shutil.rmtree(venv)
        log(f"Python virtual environment will be cached in {venv}")
        venv.mkdir(parents=True)
        try:
            build_venv(venv, spec, log)
        except Exception as err:
            shutil.rmtree(venv, ignore_errors=True)
            raise AirflowException(f"Unable to create new virtual environment in {venv}") from err
        marker.write_text(spec.hash_text(), encoding="utf8")
        log(f"New Python virtual environment created in {venv}")
        return venv / "bin" / "python"
