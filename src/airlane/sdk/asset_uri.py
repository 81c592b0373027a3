"""An asset's URI as Airflow 3.1 stores it: ``_sanitize_uri`` and the identifier checks.

A value that does not look like a URI (no scheme, no host) is kept as it is; ``x-`` schemes are
the user's and kept too; the ``airflow`` scheme is reserved. Otherwise the scheme is lower-cased,
a password drops the user info (with a warning), the query is sorted, trailing slashes and the
fragment go. Airflow then runs a provider's normaliser for the scheme; without providers only
``file`` has one, and it changes nothing.
"""

from __future__ import annotations

import urllib.parse
import warnings
from typing import Any

#: Airflow's limit on a name, a URI, a group (the column's length)
MAX_IDENTIFIER_LENGTH = 1500
#: names an asset cannot take: ``@asset`` functions receive these as arguments
PROHIBITED_NAMES = ("self", "context")


def normalized_scheme(uri: str) -> str:
    return urllib.parse.urlsplit(uri).scheme.lower()


def sanitize_uri(value: Any) -> str:
    """The URI Airflow keeps for ``value`` (a string or a path-like object)."""
    uri = str(value)
    parsed = urllib.parse.urlsplit(uri)
    if not parsed.scheme and not parsed.netloc:
        return uri
    scheme = normalized_scheme(uri)
    if not scheme or scheme.startswith("x-"):
        return uri
    if scheme == "airflow":
        raise ValueError("Asset scheme 'airflow' is reserved")
    netloc = parsed.netloc
    if parsed.password:
        warnings.warn(
            "An Asset URI should not contain a password. User info has been automatically dropped.",
            UserWarning,
            stacklevel=4,
        )
        netloc = netloc.rpartition("@")[2]
    query = ""
    if parsed.query:
        query = urllib.parse.urlencode(sorted(urllib.parse.parse_qsl(parsed.query)))
    cleaned = parsed._replace(
        scheme=scheme,
        netloc=netloc,
        path=parsed.path.rstrip("/") or "/",
        query=query,
        fragment="",
    )
    return urllib.parse.urlunsplit(cleaned)


def check_identifier(owner: str, field: str, value: Any, *, empty_ok: bool = True) -> str:
    """Airflow's ``_validate_identifier`` (and ``_validate_non_empty_identifier``)."""
    if not isinstance(value, str):
        raise ValueError(f"{owner} {field} must be a string")
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise ValueError(f"{owner} {field} cannot exceed {MAX_IDENTIFIER_LENGTH} characters")
    if value.isspace():
        raise ValueError(f"{owner} {field} cannot be just whitespace")
    if not value and not empty_ok:
        raise ValueError(f"{owner} {field} cannot be empty")
    return value


def check_asset_name(owner: str, value: Any) -> str:
    check_identifier(owner, "name", value, empty_ok=False)
    if value in PROHIBITED_NAMES:
        raise ValueError(f"prohibited name for asset: {value}")
    return str(value)
