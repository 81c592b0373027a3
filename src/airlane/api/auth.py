"""Users, roles and signed tokens (JWT, HS256, via PyJWT), as Airflow's simple auth manager.

``POST /auth/token`` with a username and password returns ``{"access_token": ...}``; every
other route except health and version wants ``Authorization: Bearer <token>``. Viewers may
read; ops and admins may also change things. Passwords are compared in constant time.

A token is checked on every request against the users configured now: the token of a user who
is no longer configured is refused (401), and a user acts with their current role, not the one
written in the token (as Airflow's database-backed auth managers, which load the user behind a
token on each request; a demoted admin needs no new token to lose their rights, nor to keep
reading). Revoked tokens are refused too (:mod:`airlane.api.revocation`).
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
from urllib.parse import unquote, urlencode, urljoin, urlparse

import jwt
import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from airlane.api.errors import ApiError, Handler, invalid, json_response
from airlane.api.inputs import json_body
from airlane.api.revocation import RevocationCache, TokenClaims
from airlane.api.webui import UI_PREFIX, is_ui_path

PUBLIC_PATHS = frozenset(
    {
        "/api/v2/monitor/health",
        "/api/v2/version",
        "/api/v2/auth/login",
        "/auth/token",
        "/auth/token/cli",
    }
)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AUTH_PREFIX = "/api/v2/auth/"
ALGORITHM = "HS256"
CLI_TOKEN_TTL_ENV = ("AIRLANE_API_CLI_TOKEN_TTL_S", "AIRFLOW__API_AUTH__JWT_CLI_EXPIRATION_TIME")


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
    #: the lifetime of tokens from ``/auth/token/cli`` (Airflow's ``jwt_cli_expiration_time``)
    cli_token_ttl_s: int = 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AuthConfig:
        """``AIRLANE_API_USERS`` (``name:password:role,...`` or a JSON list of objects with
        username, password, role), ``AIRLANE_API_USERS_FILE`` (that JSON list in a file),
        ``AIRLANE_API_SECRET`` (the signing key; a random one when unset, valid only for this
        process), ``AIRLANE_API_TOKEN_TTL_S`` and ``AIRLANE_API_CLI_TOKEN_TTL_S`` (or Airflow's
        ``AIRFLOW__API_AUTH__JWT_CLI_EXPIRATION_TIME``: the tokens of ``/auth/token/cli``)."""
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
            cli_token_ttl_s=int(_first(env, CLI_TOKEN_TTL_ENV) or 3600),
        )

    @property
    def longest_ttl_s(self) -> int:
        """The longest any token issued here may live."""
        return max(self.token_ttl_s, self.cli_token_ttl_s)

    def authenticate(self, username: str, password: str) -> User | None:
        found = None
        for user in self.users:
            # Compare every user in constant time, so timing tells nothing about names.
            name_ok = hmac.compare_digest(user.username.encode(), username.encode())
            password_ok = hmac.compare_digest(user.password.encode(), password.encode())
            if name_ok and password_ok:
                found = user
        return found

    def user_named(self, username: str) -> User | None:
        return next((user for user in self.users if user.username == username), None)

    def issue(
        self,
        user: User,
        now_s: float | None = None,
        generation: int = 0,
        ttl_s: int | None = None,
    ) -> str:
        """A token for ``user``, valid ``ttl_s`` (the API's token lifetime by default);
        ``generation`` is the user's current one (see revocation)."""
        now_s = time.time() if now_s is None else now_s
        ttl_s = self.token_ttl_s if ttl_s is None else ttl_s
        claims = {
            "sub": user.username,
            # informative only: the role a request acts with is the user's current one
            "role": user.role.value,
            "jti": secrets.token_hex(16),
            "gen": generation,
            "iat": int(now_s),
            "nbf": int(now_s),
            "exp": int(now_s + ttl_s),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> TokenClaims:
        """The claims of a token signed here and not expired; 401 otherwise."""
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
            generation = claims.get("gen", 0)
            if not isinstance(generation, int) or isinstance(generation, bool):
                raise ValueError("gen")
            jti = claims.get("jti", "")
            return TokenClaims(str(claims["sub"]), str(jti), generation, int(claims["exp"]))
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "Token has expired") from None
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise ApiError(401, "Invalid token") from None

    def verify(self, token: str) -> tuple[str, Role]:
        """Who a token names, with that user's current role; 401 when no such user is left."""
        claims = self.decode(token)
        user = self.user_named(claims.username)
        if user is None:
            raise ApiError(401, "Invalid token")
        return user.username, user.role


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((env[name] for name in names if env.get(name)), None)


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


def bearer_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Not authenticated")
    return token.strip()


def auth_middleware(config: AuthConfig, revocations: RevocationCache) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS or is_ui_path(request.path):
            return await handler(request)
        claims = config.decode(bearer_token(request))
        user = config.user_named(claims.username)
        if user is None:  # removed from the users since the token was issued
            raise ApiError(401, "Invalid token")
        if (await revocations.current()).refuses(claims):
            raise ApiError(401, "Token has been revoked")
        # The /api/v2/auth/ routes decide for themselves: a viewer may revoke their own tokens.
        writes = request.method not in READ_METHODS and not request.path.startswith(AUTH_PREFIX)
        if user.role is Role.VIEWER and writes:
            raise ApiError(403, "Forbidden")
        request["user"] = user.username
        request["role"] = user.role
        request["claims"] = claims
        return await handler(request)

    return middleware


async def create_token(
    request: web.Request, config: AuthConfig, revocations: RevocationCache
) -> web.Response:
    body = await json_body(request, {"username", "password", "grant_type"})
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str):  # an empty name is a valid body, and no user: a 401
        raise invalid("body", "username", "Field required", username)
    if not isinstance(password, str):
        raise invalid("body", "password", "Field required", password)
    user = config.authenticate(username, password)
    if user is None:
        raise ApiError(401, "Invalid credentials")
    generation = await revocations.generation_of(user.username)
    return json_response({"access_token": config.issue(user, generation=generation)}, status=201)


async def create_cli_token(
    request: web.Request, config: AuthConfig, revocations: RevocationCache
) -> web.Response:
    """Airflow 3.1's ``POST /auth/token/cli`` (``airflowctl auth login``): a JSON body of
    exactly a username and a password, an empty one a 400, and a token that lives
    ``cli_token_ttl_s``, as its simple auth manager."""
    body = await json_body(request, {"username", "password"})
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str):
        raise invalid("body", "username", "Field required", username)
    if not isinstance(password, str):
        raise invalid("body", "password", "Field required", password)
    if not username or not password:
        raise ApiError(400, "Username and password must be provided")
    user = config.authenticate(username, password)
    if user is None:
        raise ApiError(401, "Invalid credentials")
    generation = await revocations.generation_of(user.username)
    token = config.issue(user, generation=generation, ttl_s=config.cli_token_ttl_s)
    return json_response({"access_token": token}, status=201)


def auth_routes(app: web.Application, config: AuthConfig, revocations: RevocationCache) -> None:
    """``/auth/token`` and ``/auth/token/cli``; Airflow's ``GET /api/v2/auth/logout``, which
    revokes the token it is sent with and redirects to the sign-in page; Airlane's revocation
    of any one token by its id (admins) and of all tokens of a user (admins, or that user)."""

    async def token(request: web.Request) -> web.StreamResponse:
        return await create_token(request, config, revocations)

    async def cli_token(request: web.Request) -> web.StreamResponse:
        return await create_cli_token(request, config, revocations)

    async def logout(request: web.Request) -> web.StreamResponse:
        claims: TokenClaims = request["claims"]
        if claims.token_id:
            await revocations.revoke_token(claims.token_id, claims.expires_s)
        else:  # a token issued before tokens had ids: only its user's generation can end it
            await revocations.revoke_user(claims.username)
        raise web.HTTPTemporaryRedirect(UI_PREFIX)

    async def login(request: web.Request) -> web.StreamResponse:
        """Airflow's GET /api/v2/auth/login: to the web UI's sign-in page, which goes on to
        ``next`` once signed in; a ``next`` off this server is Airflow's 400."""
        target = request.query.get("next")
        if not target:
            raise web.HTTPTemporaryRedirect(UI_PREFIX + "#/login")
        if not is_safe_url(target, str(request.url.origin())):
            raise ApiError(400, "Invalid or unsafe next URL")
        raise web.HTTPTemporaryRedirect(UI_PREFIX + "#/login?" + urlencode({"next": target}))

    async def revoke_token(request: web.Request) -> web.StreamResponse:
        if request["role"] is not Role.ADMIN:
            raise ApiError(403, "Forbidden")
        # The token itself is not at hand: keep its id as long as any token may live.
        await revocations.revoke_token(
            request.match_info["token_id"], time.time() + config.longest_ttl_s
        )
        return web.Response(status=204)

    async def revoke_user_tokens(request: web.Request) -> web.StreamResponse:
        username = request.match_info["username"]
        if request["role"] is not Role.ADMIN and request["user"] != username:
            raise ApiError(403, "Forbidden")
        await revocations.revoke_user(username)
        return web.Response(status=204)

    app.router.add_post("/auth/token", token)
    app.router.add_post("/auth/token/cli", cli_token)
    app.router.add_get("/api/v2/auth/login", login)
    app.router.add_get("/api/v2/auth/logout", logout)
    app.router.add_delete("/api/v2/auth/tokens/{token_id}", revoke_token)
    app.router.add_delete("/api/v2/auth/users/{username}/tokens", revoke_user_tokens)


def is_safe_url(target: str, origin: str) -> bool:
    """Whether ``target`` (relative, or absolute) stays on ``origin`` over http(s): Airflow's
    is_safe_url, which also refuses ``//host`` and backslashes browsers read as slashes."""
    target = unquote(target).strip().replace("\\", "/")
    if target.startswith("//"):
        return False
    resolved = urlparse(urljoin(origin + "/", target))
    return resolved.scheme in {"http", "https"} and resolved.netloc == urlparse(origin).netloc
