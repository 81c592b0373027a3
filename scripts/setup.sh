#!/usr/bin/env bash
# Set up Airlane for development on Debian with Python >= 3.11:
# Debian's redis-server (when missing), a virtualenv in .venv, and the package with its dev extra.
# Re-running is cheap: the pip step is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# The SQL provider tests start a throwaway PostgreSQL server (tests/postgres_server.py).
if [ "${AIRLANE_SETUP_PROVIDERS:-0}" = 1 ] && ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  need_apt+=(postgresql)
fi
if [ "${AIRLANE_SETUP_BROWSER:-0}" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${need_apt[*]} from Debian"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Airlane needs Python >= 3.11 ($PYTHON is $("$PYTHON" --version 2>&1)); set PYTHON=..." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.airlane-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi

# The tests' Airflow provider packages (make install-test), installed without Airflow by
# `airlane providers install`; skipped while the list and the package install are unchanged.
if [ "${AIRLANE_SETUP_PROVIDERS:-0}" = 1 ]; then
  providers="http common-sql sqlite postgres smtp slack common-io"
  pstamp=.venv/.airlane-providers
  if [ ! -f "$pstamp" ] || [ "$stamp" -nt "$pstamp" ] || [ "$(cat "$pstamp")" != "$providers" ]; then
    # shellcheck disable=SC2086  # one word per provider
    .venv/bin/airlane providers install $providers
    echo "$providers" > "$pstamp"
  fi
fi

# The callbacks role runs arq, which requires redis-py < 6: it gets a virtualenv of its own
# (`airlane callbacks` started from .venv re-executes itself there; DAG callbacks still run in
# .venv's interpreter, beside the packages DAG files import).
if [ ! -x .venv-callbacks/bin/python ]; then
  "$PYTHON" -m venv .venv-callbacks
fi
cstamp=.venv-callbacks/.airlane-installed
if [ ! -f "$cstamp" ] || [ pyproject.toml -nt "$cstamp" ]; then
  .venv-callbacks/bin/python -m pip install -q --upgrade pip
  .venv-callbacks/bin/python -m pip install -q -e '.[callbacks]'
  touch "$cstamp"
fi

# Airflow's remote CLI (airflowctl), a client of the API that the tests drive
# (tests/integration/airflowctl.py): its own virtualenv, with keyrings.alt for a file keyring.
# 0.1.5 is the newest release for Airflow 3.1's API.
if [ "${AIRLANE_SETUP_AIRFLOWCTL:-0}" = 1 ]; then
  ctl_pins="apache-airflow-ctl==0.1.5 keyrings.alt==5.0.2"
  if [ ! -x .venv-airflowctl/bin/python ]; then
    "$PYTHON" -m venv .venv-airflowctl
  fi
  if [ "$(cat .venv-airflowctl/.airlane-installed 2>/dev/null)" != "$ctl_pins" ]; then
    # shellcheck disable=SC2086  # one word per pin
    .venv-airflowctl/bin/python -m pip install -q $ctl_pins
    echo "$ctl_pins" > .venv-airflowctl/.airlane-installed
  fi
fi
