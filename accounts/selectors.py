"""Reads about people and service accounts."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from vaultstudio.errors import NotFound

from .models import Group, ServiceAccount, ServiceAccountKey, User


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def service_account_list() -> QuerySet[ServiceAccount]:
    return ServiceAccount.objects.all()


def service_account_get(account_id: str) -> ServiceAccount:
    """By id or by client_id; 404 with a clear message otherwise."""
    uid = _uuid(account_id)
    account = None
    if uid:
        account = ServiceAccount.objects.filter(pk=uid).first() or ServiceAccount.objects.filter(client_id=uid).first()
    if account is None:
        raise NotFound(f"No service account with id {account_id}.")
    return account


def service_account_keys(account: ServiceAccount) -> QuerySet[ServiceAccountKey]:
    return ServiceAccountKey.objects.filter(service_account=account)


def service_account_key_get(account: ServiceAccount, key_id: str) -> ServiceAccountKey:
    uid = _uuid(key_id)
    key = ServiceAccountKey.objects.filter(service_account=account, key_id=uid).first() if uid else None
    if key is None:
        raise NotFound(f"Service account {account.name} has no key {key_id}.")
    return key


def user_list() -> QuerySet[User]:
    return User.objects.all()


def user_get(user_id: str) -> User:
    uid = _uuid(user_id)
    user = User.objects.filter(pk=uid).first() if uid else None
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def user_get_by_email(email: str) -> User | None:
    """The person with this email, ignoring case and surrounding spaces; None if there is none."""
    return User.objects.filter(email__iexact=email.strip()).first()


def group_list() -> QuerySet[Group]:
    return Group.objects.prefetch_related("members")


def group_get_by_name(name: str) -> Group | None:
    """The group with exactly this name (members not fetched); None if there is none."""
    return Group.objects.filter(name=name).first()
