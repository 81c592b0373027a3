"""Secret masking: values registered with :func:`mask_secret` become ``***`` wherever they show.

Airflow's rules (``airflow.sdk._shared.secrets_masker`` in 3.1.8): a secret shorter than five
characters, or the word ``airflow``, is not masked; a dict is walked and only the values under
sensitive keys (``password``, ``api_key``, ``token``... see :data:`DEFAULT_SENSITIVE_FIELDS`)
are registered; :func:`redact` replaces registered secrets in strings and the whole value under
a sensitive key. ``AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES`` (comma separated) adds names,
``AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS=False`` turns the name rule off and
``AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET`` sets the minimum length, as in Airflow.

The registry is per process: a task's process masks its own log lines before they leave it.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Iterable
from enum import Enum
from typing import Any

DEFAULT_SENSITIVE_FIELDS = frozenset(
    {
        "access_key",
        "access_token",
        "api_key",
        "apikey",
        "authorization",
        "connection_string",
        "passphrase",
        "passwd",
        "password",
        "private_key",
        "proxy",
        "proxies",
        "secret",
        "token",
        "keyfile_dict",
        "service_account",
    }
)
SECRETS_TO_SKIP_MASKING = frozenset({"airflow"})
REPLACEMENT = "***"
_MAX_DEPTH = 5
#: the exact types ``redact`` gives back as they are (checked first: most values)
_KEPT = frozenset({int, float, bool, type(None)})


def _min_length() -> int:
    raw = os.environ.get("AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET", "5")
    return int(raw) if raw.strip().isdigit() else 5


@functools.lru_cache(maxsize=16)
def _names_of(extra: str) -> frozenset[str]:
    added = {name.strip().lower() for name in extra.split(",") if name.strip()}
    return DEFAULT_SENSITIVE_FIELDS | added


def _sensitive_names() -> frozenset[str]:
    return _names_of(os.environ.get("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", ""))


@functools.lru_cache(maxsize=4096)
def _sensitive(name: str, extra: str, hide: str) -> bool:
    """Cached: redacting a task's rendered fields asks about the same few keys every try."""
    if hide.strip().lower() in ("false", "0", "f"):
        return False
    lowered = name.strip().lower()
    return any(field in lowered for field in _names_of(extra))


def _name_settings() -> tuple[str, str]:
    """(extra sensitive names, hide flag) as the environment sets them now."""
    return (
        os.environ.get("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", ""),
        os.environ.get("AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS", "True"),
    )


def should_hide_value_for_key(name: Any, settings: tuple[str, str] | None = None) -> bool:
    """A Variable name or connection extra key whose value is a secret (``settings``: the
    environment's, read once by a caller that asks about many keys)."""
    if not isinstance(name, str):
        return False
    extra, hide = settings or _name_settings()
    return _sensitive(name, extra, hide)


class SecretsMasker:
    """The registered secrets of this process and the pattern that replaces them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.patterns: set[str] = set()
        self.replacer: re.Pattern[str] | None = None

    def add_mask(self, secret: Any, name: str | None = None) -> None:
        if isinstance(secret, dict):
            for key, value in secret.items():
                self.add_mask(value, str(key))
        elif isinstance(secret, str):
            self._add_text(secret, name)
        elif isinstance(secret, Iterable):
            for value in secret:
                self.add_mask(value, name)

    def _add_text(self, secret: str, name: str | None) -> None:
        if len(secret) < _min_length() or secret.lower() in SECRETS_TO_SKIP_MASKING:
            return
        if name and not should_hide_value_for_key(name):
            return
        pattern = re.escape(secret)
        with self._lock:
            if pattern in self.patterns:
                return
            self.patterns.add(pattern)
            # longest first: a secret that contains another is replaced whole
            ordered = sorted(self.patterns, key=len, reverse=True)
            self.replacer = re.compile("|".join(ordered))

    def mask_text(self, text: str) -> str:
        replacer = self.replacer
        return replacer.sub(REPLACEMENT, text) if replacer is not None else text

    def redact(self, item: Any, name: str | None = None, depth: int = 0) -> Any:
        return self._redact(item, name, depth, _name_settings())

    def _redact(self, item: Any, name: str | None, depth: int, settings: tuple[str, str]) -> Any:
        if depth > _MAX_DEPTH:
            return item
        if name and should_hide_value_for_key(name, settings):
            return _redact_all(item, depth)
        if type(item) in _KEPT:
            return item
        if isinstance(item, dict):
            deeper = depth + 1
            return {
                key: self._redact(value, str(key), deeper, settings) for key, value in item.items()
            }
        if isinstance(item, Enum):
            return self._redact(item.value, name, depth, settings)
        if isinstance(item, str):
            return self.mask_text(item)
        if isinstance(item, (tuple, set)):
            return tuple(self._redact(value, None, depth + 1, settings) for value in item)
        if isinstance(item, list):
            return [self._redact(value, None, depth + 1, settings) for value in item]
        return item

    def reset_masker(self) -> None:
        with self._lock:
            self.patterns = set()
            self.replacer = None


def _redact_all(item: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH or isinstance(item, str):
        return REPLACEMENT
    if isinstance(item, dict):
        return {key: _redact_all(value, depth + 1) for key, value in item.items()}
    if isinstance(item, list):
        return [_redact_all(value, depth + 1) for value in item]
    return item


_masker = SecretsMasker()


def _secrets_masker() -> SecretsMasker:
    return _masker


def mask_secret(secret: Any, name: str | None = None) -> None:
    """Mask ``secret`` (a string, or the sensitive values of a dict or list) from now on."""
    if not secret:
        return
    _masker.add_mask(secret, name)


def redact(value: Any, name: str | None = None) -> Any:
    """``value`` with registered secrets and values under sensitive keys replaced by ``***``."""
    return _masker.redact(value, name)


def mask_text(text: str) -> str:
    """``text`` with every registered secret replaced by ``***`` (a log line, say)."""
    return _masker.mask_text(text)


def reset_secrets_masker() -> None:
    _masker.reset_masker()


class MaskingFilter(logging.Filter):
    """Masks the secrets seen in this process (connection passwords and extras, values given
    to ``mask_secret``) in every log record, its traceback included: put it on a process's log
    handlers (a filter on a handler sees the records of every logger that reaches it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


def mask_handlers(handlers: Iterable[logging.Handler]) -> list[logging.Handler]:
    """Put a :class:`MaskingFilter` on each of ``handlers`` that has none; returns those it
    changed (for :func:`unmask_handlers`)."""
    changed = []
    for handler in handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
            changed.append(handler)
    return changed


def unmask_handlers(handlers: Iterable[logging.Handler]) -> None:
    for handler in handlers:
        for found in [f for f in handler.filters if isinstance(f, MaskingFilter)]:
            handler.removeFilter(found)


__all__ = [
    "DEFAULT_SENSITIVE_FIELDS",
    "MaskingFilter",
    "SecretsMasker",
    "mask_handlers",
    "mask_secret",
    "redact",
    "reset_secrets_masker",
    "should_hide_value_for_key",
    "unmask_handlers",
]
