"""Who is calling: a service account (bearer token) or a person (studio session), as one shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit import actors
from audit.actors import Actor

from .models import ServiceAccount, ServiceAccountKey, User


@dataclass
class ServiceAccountPrincipal:
    """``request.user`` for a bearer-token request: the account, the key it used, the token claims."""

    service_account: ServiceAccount
    key: ServiceAccountKey
    claims: dict[str, Any]
    # The shared version key as read to authenticate this request: the data plane decides under it.
    version: int | None = None

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_superuser = False
    is_staff = False

    @property
    def pk(self) -> Any:
        return self.service_account.pk

    @property
    def narrowed_roles(self) -> tuple[str, ...] | None:
        roles = self.claims.get("roles")
        return tuple(roles) if roles else None

    @property
    def context(self) -> Any:
        return self.claims.get("ctx")

    @property
    def actor(self) -> Actor:
        return service_account_actor(self.service_account)

    def __str__(self) -> str:
        return f"service account {self.service_account.name}"


def service_account_actor(account: ServiceAccount) -> Actor:
    return Actor(actors.SERVICE_ACCOUNT, str(account.client_id), account.name, actors.AUTH_SERVICE_ACCOUNT_JWT)


def user_actor(user: User) -> Actor:
    return Actor(actors.USER, str(user.pk), user.email, actors.AUTH_SESSION)


def actor_of(principal: Any) -> Actor:
    """The audit actor for ``request.user`` (a principal, a User, or nobody)."""
    if isinstance(principal, ServiceAccountPrincipal):
        return principal.actor
    if isinstance(principal, User):
        return user_actor(principal)
    return Actor.anonymous()
