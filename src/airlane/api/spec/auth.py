"""Tokens: sign-in, sign-out and revocation (handlers: :mod:`airlane.api.auth`)."""

from __future__ import annotations

from airlane.api.spec.notation import Paths, Schema, model, nullable, op, param, path_params

SCHEMAS: dict[str, Schema] = {
    "LoginBody": model({"username": "str", "password": "str", "grant_type": "str?"}, closed=True),
    "LoginResponse": model({"access_token": "str"}),
    # Airflow 3.1's body of /auth/token/cli: exactly a username and a password (an empty one
    # is a 400, as Airflow's, not a schema error)
    "CliLoginBody": model({"username": "str", "password": "str"}, closed=True),
}

PATHS: Paths = {
    "/auth/token": {
        "post": op(
            "create_token",
            "Login",
            "LoginResponse",
            body="LoginBody",
            status=201,
            errors=(401, 422),
            public=True,
        )
    },
    # Airflow 3.1's sign-in for airflowctl: its tokens live AIRLANE_API_CLI_TOKEN_TTL_S
    "/auth/token/cli": {
        "post": op(
            "create_token_cli",
            "Login",
            "LoginResponse",
            body="CliLoginBody",
            status=201,
            errors=(400, 401, 422),
            public=True,
        )
    },
    "/api/v2/auth/login": {
        # Airflow's: to the sign-in page, which goes on to ``next`` (on this server) after
        "get": op(
            "login",
            "Login",
            None,
            params=[param("next", "query", nullable({"type": "string"}))],
            status=307,
            errors=(400, 422),
            public=True,
        )
    },
    "/api/v2/auth/logout": {
        # Airflow's: revokes the token it is sent with, then redirects to the sign-in page
        "get": op("logout", "Login", None, status=307, errors=(401,))
    },
    # Airlane: revoke one token by its id (the JWT's jti; admins only)
    "/api/v2/auth/tokens/{token_id}": {
        "delete": op(
            "revoke_token",
            "Login",
            None,
            status=204,
            params=path_params("token_id"),
            errors=(401, 403),
        )
    },
    # Airlane: revoke every token of a user issued so far (admins, or that user)
    "/api/v2/auth/users/{username}/tokens": {
        "delete": op(
            "revoke_user_tokens",
            "Login",
            None,
            status=204,
            params=path_params("username"),
            errors=(401, 403),
        )
    },
}
