"""Users, roles and signed tokens (JWT, HS256, via PyJWT), as Airflow's simple auth manager.

``POST /auth/token`` with a username and password returns ``{"access_token": ...}``; every
other route except health and version wants ``Authorization: Bearer <token>``. Viewers may
read; ops and admins may also change things. Passwords are compared in constant time.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

import jwt
import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from airlane.api.errors import ApiError, Handler, invalid, json_response
from airlane.api.inputs import json_body
from airlane.api.webui import is_ui_path

PUBLIC_PATHS = frozenset({"/api/v2/monitor/health", "/api/v2/version", "/auth/token"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALGORITHM = "HS256"


class Role(enum.StrEnum):
    ADMIN = "admin"
    OP = "op"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class User:
    username: str
    password: str
    role: Role


@dataclass(frozen=True, slots=True)
class AuthConfig:
    users: tuple[User, ...]
    secret: str
    token_ttl_s: int = 24 * 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AuthConfig:
        """``AIRLANE_API_USERS`` (``name:password:role,...`` or a JSON list of objects with
        username, password, role), ``AIRLANE_API_USERS_FILE`` (that JSON list in a file),
        ``AIRLANE_API_SECRET`` (the signing key; a random one when unset, valid only for this
        process) and ``AIRLANE_API_TOKEN_TTL_S``."""
        env = os.environ if env is None else env
        users = list(parse_users(env.get("AIRLANE_API_USERS", "")))
        path = env.get("AIRLANE_API_USERS_FILE")
        if path:
            with open(path, "rb") as handle:
                users += parse_users(handle.read().decode())
        return cls(
            users=tuple(users),
            secret=env.get("AIRLANE_API_SECRET") or secrets.token_urlsafe(32),
            token_ttl_s=int(env.get("AIRLANE_API_TOKEN_TTL_S", 24 * 3600)),
        )

    def authenticate(self, username: str, password: str) -> User | None:
        found = None
        for user in self.users:
            # Compare every user in constant time, so timing tells nothing about names.
            name_ok = hmac.compare_digest(user.username.encode(), username.encode())
            password_ok = hmac.compare_digest(user.password.encode(), password.encode())
            if name_ok and password_ok:
                found = user
        return found

    def issue(self, user: User, now_s: float | None = None) -> str:
        now_s = time.time() if now_s is None else now_s
        claims = {
            "sub": user.username,
            "role": user.role.value,
            "iat": int(now_s),
            "nbf": int(now_s),
            "exp": int(now_s + self.token_ttl_s),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> tuple[str, Role]:
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
            return str(claims["sub"]), Role(claims.get("role", Role.VIEWER))
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "Token has expired") from None
        except (jwt.InvalidTokenError, ValueError):
            raise ApiError(401, "Invalid token") from None


def parse_users(text: str) -> list[User]:
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        entries = orjson.loads(text)
        return [User(e["username"], e["password"], Role(e.get("role", "viewer"))) for e in entries]
    users = []
    for item in text.split(","):
        name, _, rest = item.strip().partition(":")
        password, _, role = rest.rpartition(":")
        if not name or not password:
            raise ValueError(f"AIRLANE_API_USERS entry {item!r}: expected name:password:role")
        users.append(User(name, password, Role(role or "viewer")))
    return users


def is_loopback(host: str) -> bool:
    if host in {"localhost", ""}:
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_middleware(config: AuthConfig) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS or is_ui_path(request.path):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Not authenticated")
        username, role = config.verify(token.strip())
        if role is Role.VIEWER and request.method not in READ_METHODS:
            raise ApiError(403, "Forbidden")
        request["user"] = username
        request["role"] = role
        return await handler(request)

    return middleware


async def create_token(request: web.Request, config: AuthConfig) -> web.Response:
    body = await json_body(request, {"username", "password", "grant_type"})
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not username:
        raise invalid("body", "username", "Field required", username)
    if not isinstance(password, str):
        raise invalid("body", "password", "Field required", password)
    user = config.authenticate(username, password)
    if user is None:
        raise ApiError(401, "Invalid credentials")
    return json_response({"access_token": config.issue(user)}, status=201)
