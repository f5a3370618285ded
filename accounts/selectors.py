"""Reads about people and service accounts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from vaultstudio.errors import NotFound
from vaultstudio.inputs import parse_uuid
from vaultstudio.versioned import VersionedMemo

from .mfa.devices import KIND_SHORT_LABELS, MODEL_KINDS
from .models import Group, ServiceAccount, ServiceAccountKey, User


def service_account_list() -> QuerySet[ServiceAccount]:
    return ServiceAccount.objects.all()


def service_account_get(account_id: str) -> ServiceAccount:
    """By id or by client_id; 404 with a clear message otherwise."""
    uid = parse_uuid(account_id)
    account = None
    if uid:
        account = ServiceAccount.objects.filter(pk=uid).first() or ServiceAccount.objects.filter(client_id=uid).first()
    if account is None:
        raise NotFound(f"No service account with id {account_id}.")
    return account


def service_account_keys(account: ServiceAccount) -> QuerySet[ServiceAccountKey]:
    return ServiceAccountKey.objects.filter(service_account=account)


def service_account_key_get(account: ServiceAccount, key_id: str) -> ServiceAccountKey:
    uid = parse_uuid(key_id)
    key = ServiceAccountKey.objects.filter(service_account=account, key_id=uid).first() if uid else None
    if key is None:
        raise NotFound(f"Service account {account.name} has no key {key_id}.")
    return key


def user_list() -> QuerySet[User]:
    return User.objects.all()


def user_get(user_id: str) -> User:
    uid = parse_uuid(user_id)
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


# --- the hot path: a key and its account by ids, for every token exchange and every request -------


def _in_model_order(model: Any, wanted: set[str]) -> tuple[str, ...]:
    # Model.from_db() takes values in the order of the model's concrete fields.
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in wanted)


_KEY_FIELDS = _in_model_order(
    ServiceAccountKey, {"key_id", "algorithm", "public_key", "fingerprint", "expires_at", "revoked_at", "last_used_at"}
)
_ACCOUNT_FIELDS = _in_model_order(
    ServiceAccount, {"id", "client_id", "name", "is_active", "ip_allowlist", "token_ttl_seconds"}
)
_KEY_SQL = (
    "SELECT "
    + ", ".join([f"k.{f}" for f in _KEY_FIELDS] + [f"a.{f}" for f in _ACCOUNT_FIELDS])
    + " FROM accounts_serviceaccountkey k JOIN accounts_serviceaccount a ON a.id = k.service_account_id"
    " WHERE k.key_id = %s AND a.client_id = %s"
)
_converters_by_vendor: dict[str, list[tuple[list[Any], Any]]] = {}


def _column_converters() -> list[tuple[list[Any], Any]]:
    """Django's own per-backend value converters for the selected columns (built once)."""
    cached = _converters_by_vendor.get(connection.vendor)
    if cached is None:
        cached = []
        for model, names in ((ServiceAccountKey, _KEY_FIELDS), (ServiceAccount, _ACCOUNT_FIELDS)):
            for name in names:
                field = model._meta.get_field(name)
                col = field.get_col(model._meta.db_table)
                cached.append((connection.ops.get_db_converters(col) + field.get_db_converters(connection), col))
        _converters_by_vendor[connection.vendor] = cached
    return cached


def service_account_key_for(key_id: str, client_id: str) -> ServiceAccountKey | None:
    """The key ``key_id`` of the account ``client_id`` with that account attached, or None.

    One raw query: the ORM spends more compiling this join than the database spends running it, and
    it runs on every token exchange and every bearer request. Columns not selected here are loaded
    on first access, as deferred fields.
    """
    kid, cid = parse_uuid(key_id), parse_uuid(client_id)
    if kid is None or cid is None:
        return None
    pk_field = ServiceAccountKey._meta.pk
    client_field = ServiceAccount._meta.get_field("client_id")
    params = [
        pk_field.get_db_prep_value(uuid.UUID(kid), connection),  # type: ignore[union-attr]
        client_field.get_db_prep_value(uuid.UUID(cid), connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_KEY_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (converters, col) in zip(row, _column_converters(), strict=True):
        for convert in converters:
            value = convert(value, col, connection)
        values.append(value)
    n = len(_KEY_FIELDS)
    account = ServiceAccount.from_db(connection.alias, list(_ACCOUNT_FIELDS), values[n:])
    key = ServiceAccountKey.from_db(connection.alias, list(_KEY_FIELDS), values[:n])
    key.service_account = account
    return key


# --- people and service accounts as the studio lists them -----------------------------------------


def mfa_device_label(model: Any) -> str:
    """How the studio names a kind of MFA device; a device type of no known kind shows its verbose name."""
    kind = MODEL_KINDS.get(model)
    return KIND_SHORT_LABELS[kind] if kind else str(model._meta.verbose_name).capitalize()


def mfa_methods_by_user(user_ids: Iterable[Any]) -> dict[Any, list[str]]:
    """``{user id: sorted labels of their confirmed MFA device types}`` for many people at once.

    One query per device type (TOTP, WebAuthn, backup codes…), whatever the number of people: the same
    device types ``django_otp.devices_for_user(user, confirmed=True)`` walks for one person.
    """
    from django_otp import device_classes

    ids = list(user_ids)
    methods: dict[Any, set[str]] = {uid: set() for uid in ids}
    if not ids:
        return {}
    for model in device_classes():
        label = mfa_device_label(model)
        for uid in model.objects.filter(user_id__in=ids, confirmed=True).values_list("user_id", flat=True).distinct():
            methods.setdefault(uid, set()).add(label)
    return {uid: sorted(labels) for uid, labels in methods.items()}


def mfa_devices_of(user: User) -> list[Any]:
    """A person's confirmed MFA devices, every type (django-otp's own walk over the device models)."""
    from django_otp import devices_for_user

    return list(devices_for_user(user, confirmed=True))


def user_search(query: str = "", *, active: bool | None = None) -> QuerySet[User]:
    """People whose email or name contains ``query`` (any case), optionally only (in)active ones."""
    people = User.objects.all()
    query = query.strip()
    if query:
        people = people.filter(Q(email__icontains=query) | Q(name__icontains=query))
    if active is not None:
        people = people.filter(is_active=active)
    return people.order_by("email")


def group_list_with_counts() -> QuerySet[Group]:
    return Group.objects.annotate(member_count=Count("members", distinct=True)).order_by("name")


def group_get(group_id: Any) -> Group:
    uid = parse_uuid(group_id)
    group = Group.objects.filter(pk=uid).first() if uid else None
    if group is None:
        raise NotFound(f"No group with id {group_id}.")
    return group


def service_account_list_with_keys(now: datetime | None = None) -> QuerySet[ServiceAccount]:
    """Service accounts with their usable key count, the nearest expiry of a usable key and the last
    time any key was used, in one query."""
    now = now or timezone.now()
    usable = Q(keys__revoked_at__isnull=True, keys__expires_at__gt=now)
    return ServiceAccount.objects.annotate(
        usable_keys=Count("keys", filter=usable, distinct=True),
        next_expiry=Min("keys__expires_at", filter=usable),
        last_used=Max("keys__last_used_at"),
    ).order_by("name")


def service_account_keys_expiring(within: timedelta, now: datetime | None = None) -> QuerySet[ServiceAccountKey]:
    """Usable keys of active accounts that expire within ``within`` (soonest first), account attached."""
    now = now or timezone.now()
    return (
        ServiceAccountKey.objects.select_related("service_account")
        .filter(
            revoked_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=now + within,
            service_account__is_active=True,
        )
        .order_by("expires_at")
    )


# Revocation state must reach every worker even if a version bump is lost: rows older than this
# are read again whatever the version says.
CURRENT_KEY_MAX_AGE = 5.0
_current_keys: VersionedMemo[ServiceAccountKey | None] = VersionedMemo(max_age=CURRENT_KEY_MAX_AGE)


def service_account_key_current(key_id: str, client_id: str, version: int) -> ServiceAccountKey | None:
    """``service_account_key_for`` as of the shared version ``version``, read once per process per
    version (and at least every ``CURRENT_KEY_MAX_AGE`` seconds): activating or deactivating an
    account, changing its allowlist and revoking a key bump the version on commit
    (``accounts.services``). Expiry is a time, compared on every request. Shared between
    requests: read only."""
    return _current_keys.get((key_id, client_id), version, lambda: service_account_key_for(key_id, client_id))


def forget_current_keys() -> None:
    """Drop this process's copies at once (the process that makes a change; others wait for the bump)."""
    _current_keys.clear()
