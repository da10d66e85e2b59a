"""Bearer JWTs with `sub`, `org` and `scope` claims, checked by every service.

Reads of published data are anonymous; every write names a scope (`registry:write`, ...) that the
token must carry, or `admin`. An operator's token carries its organisation code in `org`, and the
services limit it to that organisation's records.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tdi_kit import clock
from tdi_kit.errors import Forbidden, Unauthorized
from tdi_kit.settings import AppSettings

ADMIN_SCOPE = "admin"


@dataclass(frozen=True)
class Caller:
    sub: str
    org: str | None
    scopes: frozenset[str]
    # The token's `iss`: the same subject at two identity providers is two callers.
    iss: str | None = None

    @property
    def identity(self) -> tuple[str | None, str, str | None]:
        """Who is calling, as a whole: issuer, subject and organisation."""
        return (self.iss, self.sub, self.org)

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes

    def has(self, scope: str) -> bool:
        return self.is_admin or scope in self.scopes


class TokenVerifier:
    """Checks signatures with the configured secret, public key or JWKS endpoint."""

    def __init__(self, settings: AppSettings) -> None:
        self.algorithms = settings.jwt_algorithms
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self.public_key = settings.jwt_public_key
        self.jwks = (
            jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        )

    def _key_for(self, token: str, header: dict[str, Any]) -> Any:
        if header.get("alg", "").startswith("HS"):
            if not self.secret:
                raise jwt.InvalidTokenError("symmetric tokens are not accepted here")
            return self.secret
        if self.jwks is not None:
            return self.jwks.get_signing_key_from_jwt(token).key
        if self.public_key:
            return self.public_key
        raise jwt.InvalidTokenError("no public key is configured for this algorithm")

    def verify(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token,
                self._key_for(token, header),
                algorithms=self.algorithms,
                issuer=self.issuer,
                audience=self.audience,
                # The times are checked against the kit's clock below, which tests can move:
                # PyJWT reads the system clock and cannot be given another.
                options={
                    "require": ["sub", "exp"],
                    "verify_aud": self.audience is not None,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
            _check_times(claims)
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized(f"The bearer token is not valid: {exc}.") from exc
        scope = claims.get("scope", "")
        scopes = scope.split() if isinstance(scope, str) else list(scope)
        issuer = claims.get("iss")
        return Caller(
            sub=str(claims["sub"]),
            org=claims.get("org"),
            scopes=frozenset(scopes),
            iss=None if issuer is None else str(issuer),
        )


def _check_times(claims: dict[str, Any]) -> None:
    """`exp` passed, `nbf` or `iat` still ahead: PyJWT's own checks (no leeway), on
    `tdi_kit.clock`."""
    now = clock.now().timestamp()
    for name in ("exp", "nbf", "iat"):
        if name in claims and (
            isinstance(claims[name], bool) or not isinstance(claims[name], int | float)
        ):
            raise jwt.InvalidTokenError(f"the {name} claim must be a number")
    if claims["exp"] <= now:
        raise jwt.ExpiredSignatureError("Signature has expired")
    for name in ("nbf", "iat"):
        if name in claims and claims[name] > now:
            raise jwt.ImmatureSignatureError(f"The token is not yet valid ({name})")


_bearer = HTTPBearer(auto_error=False, description="A JWT with `sub`, `org` and `scope` claims.")


async def optional_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller | None:
    if credentials is None:
        return None
    verifier: TokenVerifier = request.app.state.verifier
    if verifier.jwks is not None:
        # PyJWKClient fetches unknown keys with blocking urllib: keep it off the event loop.
        return await asyncio.to_thread(verifier.verify, credentials.credentials)
    return verifier.verify(credentials.credentials)


CallerDep = Annotated[Caller | None, Depends(optional_caller)]


def require_scope(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency that admits callers whose token carries `scope` (or `admin`)."""

    async def dependency(caller: CallerDep) -> Caller:
        if caller is None:
            raise Unauthorized(f"This operation needs a bearer token with scope {scope}.")
        if not caller.has(scope):
            raise Forbidden(f"This operation needs scope {scope}; the token has none of it.")
        return caller

    return dependency


def writer(scope: str) -> Any:
    """`Annotated[Caller, ...]` admitting tokens with `scope`: each service's `Writer`."""
    return Annotated[Caller, Depends(require_scope(scope))]


# For reads open to all that show more to a token: the token is optional, which OpenAPI says
# with an empty requirement beside the bearer one (pass as a route's `openapi_extra`).
OPTIONAL_BEARER: dict[str, Any] = {"security": [{}, {"HTTPBearer": []}]}


def mint_token(
    *,
    secret: str,
    sub: str,
    org: str | None = None,
    scopes: Iterable[str] = (),
    ttl_seconds: int = 3600,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """A signed HS256 token for local use and tests (`tdi token`)."""
    now = int(clock.now().timestamp())
    claims: dict[str, Any] = {
        "sub": sub,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if org:
        claims["org"] = org
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")
