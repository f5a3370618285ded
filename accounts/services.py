"""Writes about service accounts, their keys and token exchanges — each audited in its transaction."""

from __future__ import annotations

import hashlib
import ipaddress
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_append
from policies.services import bump_policy_version
from vaultstudio.db import save_unique
from vaultstudio.errors import BadRequest, Conflict
from vaultstudio.inputs import clean_name, parse_uuid
from vaultstudio.net import ip_allowed

from . import keys, replay, signing
from .models import ServiceAccount, ServiceAccountKey
from .principals import service_account_actor
from .selectors import forget_current_keys, service_account_key_for
from .tokens import (
    TokenRefused,
    check_assertion_times,
    issue_access_token,
    parse_assertion,
    parse_token_request,
    validate_ctx,
    verify_assertion_signature,
)

_UPDATABLE = ("name", "description", "ip_allowlist", "token_ttl_seconds", "is_active")


def token_uri(base_url: str | None = None) -> str:
    return (base_url or settings.VAULTSTUDIO_BASE_URL).rstrip("/") + settings.VAULTSTUDIO_TOKEN_PATH


def _clean_allowlist(values: Any) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list | tuple):
        raise BadRequest('ip_allowlist must be a list of CIDRs, e.g. ["10.0.0.0/8", "203.0.113.7/32"].')
    cleaned = []
    for value in values:
        try:
            cleaned.append(str(ipaddress.ip_network(str(value).strip(), strict=False)))
        except ValueError as exc:
            raise BadRequest(f"ip_allowlist: {value!r} is not an IP address or CIDR network.") from exc
    return cleaned


def _clean_ttl(value: Any) -> int:
    maximum = settings.VAULTSTUDIO_ACCESS_TOKEN_TTL_MAX
    if isinstance(value, bool) or not isinstance(value, int) or not 60 <= value <= maximum:
        raise BadRequest(f"token_ttl_seconds must be an integer from 60 to {maximum}.")
    return value


def _account_snapshot(account: ServiceAccount) -> dict[str, Any]:
    return {
        "name": account.name,
        "is_active": account.is_active,
        "ip_allowlist": account.ip_allowlist,
        "token_ttl_seconds": account.token_ttl_seconds,
    }


def service_account_create(
    *,
    actor: Actor,
    name: str,
    description: str = "",
    ip_allowlist: list[str] | None = None,
    token_ttl_seconds: int | None = None,
) -> ServiceAccount:
    """Create an active service account (with no key yet)."""
    ttl = _clean_ttl(
        token_ttl_seconds if token_ttl_seconds is not None else settings.VAULTSTUDIO_ACCESS_TOKEN_TTL_DEFAULT
    )
    account = ServiceAccount(
        name=clean_name(name, max_length=255),
        description=description or "",
        ip_allowlist=_clean_allowlist(ip_allowlist),
        token_ttl_seconds=ttl,
    )
    with transaction.atomic():
        save_unique(account, f"A service account named {account.name!r} already exists.")
        audit_append(
            actor=actor,
            action="service_account.create",
            resource_type="SERVICE_ACCOUNT",
            resource_ids=[str(account.client_id)],
            details=_account_snapshot(account),
        )
    return account


def _credentials_changed() -> None:
    """Bearer requests check keys and accounts as of the shared version: bump it (on commit, for
    every worker) and drop this process's copies now."""
    bump_policy_version()
    forget_current_keys()


def service_account_update(*, actor: Actor, account: ServiceAccount, **changes: Any) -> ServiceAccount:
    """Change name, description, allowlist, token TTL or active state. Deactivation kills its tokens
    at once, because every request re-checks the account."""
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise BadRequest(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    before = _account_snapshot(account)
    if "name" in changes:
        account.name = clean_name(changes["name"], max_length=255)
    if "description" in changes:
        account.description = str(changes["description"] or "")
    if "ip_allowlist" in changes:
        account.ip_allowlist = _clean_allowlist(changes["ip_allowlist"])
    if "token_ttl_seconds" in changes:
        account.token_ttl_seconds = _clean_ttl(changes["token_ttl_seconds"])
    if "is_active" in changes:
        if not isinstance(changes["is_active"], bool):
            raise BadRequest("is_active must be true or false.")
        account.is_active = changes["is_active"]
        account.deactivated_at = None if account.is_active else timezone.now()
    if _account_snapshot(account) == before and "description" not in changes:
        return account  # nothing changes (e.g. deactivating an inactive account): nothing to audit
    action = "service_account.update"
    if before["is_active"] != account.is_active:
        action = "service_account.activate" if account.is_active else "service_account.deactivate"
    with transaction.atomic():
        save_unique(account, f"A service account named {account.name!r} already exists.")
        _credentials_changed()
        audit_append(
            actor=actor,
            action=action,
            resource_type="SERVICE_ACCOUNT",
            resource_ids=[str(account.client_id)],
            details={"before": before, "after": _account_snapshot(account)},
        )
    return account


def _active_keys(account: ServiceAccount, now: datetime) -> int:
    return ServiceAccountKey.objects.filter(
        service_account=account, revoked_at__isnull=True, expires_at__gt=now
    ).count()


def _clean_expiry(expires_at: datetime | None, now: datetime) -> datetime:
    if expires_at is None:
        return now + timedelta(days=settings.VAULTSTUDIO_KEY_LIFETIME_DAYS)
    if expires_at <= now:
        raise BadRequest("expires_at must be in the future.")
    return expires_at


def _add_key(
    *,
    actor: Actor,
    account: ServiceAccount,
    public_pem: str,
    algorithm: str,
    generated: bool,
    expires_at: datetime | None,
) -> ServiceAccountKey:
    now = timezone.now()
    with transaction.atomic():
        # Lock the account row so two concurrent uploads cannot both pass the two-key limit.
        ServiceAccount.objects.select_for_update().filter(pk=account.pk).first()
        if _active_keys(account, now) >= settings.VAULTSTUDIO_MAX_ACTIVE_KEYS:
            raise Conflict(
                f"This service account already has {settings.VAULTSTUDIO_MAX_ACTIVE_KEYS} active keys; "
                "revoke one before adding another."
            )
        key = ServiceAccountKey.objects.create(
            service_account=account,
            public_key=public_pem,
            algorithm=algorithm,
            fingerprint=keys.fingerprint(public_pem),
            generated=generated,
            created_at=now,
            expires_at=_clean_expiry(expires_at, now),
        )
        audit_append(
            actor=actor,
            action="service_account.key.generate" if generated else "service_account.key.upload",
            resource_type="SERVICE_ACCOUNT_KEY",
            resource_ids=[str(key.key_id)],
            details={
                "client_id": str(account.client_id),
                "algorithm": algorithm,
                "fingerprint": key.fingerprint,
                "expires_at": key.expires_at.isoformat(),
            },
        )
    return key


def service_account_key_generate(
    *,
    actor: Actor,
    account: ServiceAccount,
    algorithm: str = keys.RS256,
    base_url: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[ServiceAccountKey, dict[str, str]]:
    """Generate a key pair; store only the public key; return the credentials.json document.

    The returned document holds the only copy of the private key.
    """
    try:
        pair = keys.generate_keypair(algorithm)
    except keys.KeyFormatError as exc:
        raise BadRequest(str(exc)) from exc
    key = _add_key(
        actor=actor,
        account=account,
        public_pem=pair.public_pem,
        algorithm=algorithm,
        generated=True,
        expires_at=expires_at,
    )
    credentials = {
        "clientID": str(account.client_id),
        "clientName": account.name,
        "keyID": str(key.key_id),
        "tokenURI": token_uri(base_url),
        "privateKey": pair.private_pem,
    }
    return key, credentials


def service_account_key_register(
    *,
    actor: Actor,
    account: ServiceAccount,
    public_key: str,
    algorithm: str,
    expires_at: datetime | None = None,
) -> ServiceAccountKey:
    """Register a public key whose private half never leaves the customer."""
    try:
        public_pem = keys.normalize_public_key(public_key, algorithm)
    except keys.KeyFormatError as exc:
        raise BadRequest(str(exc)) from exc
    return _add_key(
        actor=actor, account=account, public_pem=public_pem, algorithm=algorithm, generated=False, expires_at=expires_at
    )


def service_account_key_revoke(*, actor: Actor, key: ServiceAccountKey) -> ServiceAccountKey:
    """Revoke a key; tokens obtained with it stop working on their next request."""
    if key.revoked_at is not None:
        return key
    with transaction.atomic():
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        _credentials_changed()
        audit_append(
            actor=actor,
            action="service_account.key.revoke",
            resource_type="SERVICE_ACCOUNT_KEY",
            resource_ids=[str(key.key_id)],
            details={"client_id": str(key.service_account.client_id)},
        )
    return key


# --- the token exchange ---------------------------------------------------------------------------

_LAST_USED_RESOLUTION = timedelta(seconds=60)


def _refuse(exc: TokenRefused, account: ServiceAccount | None) -> None:
    actor = service_account_actor(account) if account else Actor.anonymous(exc.client_id[:64])
    audit_append(
        actor=actor,
        action="auth.token.refuse",
        resource_type="SERVICE_ACCOUNT",
        resource_ids=[exc.client_id] if exc.client_id else [],
        decision="DENY",
        http_status=401,
        details={"reason": exc.reason, "message": exc.message},
    )


def token_exchange(*, body: Any, ip: str) -> dict[str, str]:
    """Exchange a signed assertion (RFC 7523) for an access token; audit grant or refusal.

    Raises TokenRefused (after auditing it) when anything is wrong.
    """
    account: ServiceAccount | None = None
    try:
        assertion, requested_roles = parse_token_request(body)
        parsed = parse_assertion(assertion)
        key = service_account_key_for(parsed.key_id, parsed.client_id)
        if key is None:
            uid = parse_uuid(parsed.client_id)
            account = ServiceAccount.objects.filter(client_id=uid).first() if uid else None
            if account is None:
                raise TokenRefused(
                    "unknown_issuer", "No service account has this clientID (iss/sub).", client_id=parsed.client_id
                )
            raise TokenRefused(
                "unknown_key", f"Service account has no key {parsed.key_id}.", client_id=parsed.client_id
            )
        account = key.service_account
        verify_assertion_signature(
            parsed,
            algorithm=key.algorithm,
            public_key=keys.load_public_key_cached(key.public_key),
            audience=token_uri(),
        )
        now = time.time()
        exp = check_assertion_times(
            parsed,
            now=now,
            skew=settings.VAULTSTUDIO_CLOCK_SKEW,
            max_lifetime=settings.VAULTSTUDIO_ASSERTION_MAX_LIFETIME,
        )
        at = timezone.now()
        cid = parsed.client_id
        if key.revoked_at is not None:
            raise TokenRefused("key_revoked", f"Key {key.key_id} has been revoked.", client_id=cid)
        if key.expires_at <= at:
            raise TokenRefused("key_expired", f"Key {key.key_id} expired on {key.expires_at:%Y-%m-%d}.", client_id=cid)
        if not account.is_active:
            raise TokenRefused("account_inactive", "This service account is deactivated.", client_id=cid)
        if not ip_allowed(ip, account.ip_allowlist):
            raise TokenRefused(
                "ip_not_allowed", f"Requests from {ip} are outside this account's IP allowlist.", client_id=cid
            )
        ctx = validate_ctx(parsed.claims.get("ctx"))
        roles = _narrowed_roles(account, requested_roles, cid)
        kid, private_key = signing.active_signer()
        ttl = min(account.token_ttl_seconds, settings.VAULTSTUDIO_ACCESS_TOKEN_TTL_MAX)
        token, claims = issue_access_token(
            kid=kid,
            private_key=private_key,
            issuer=settings.VAULTSTUDIO_BASE_URL,
            client_id=cid,
            key_id=str(key.key_id),
            now=int(now),
            ttl=ttl,
            roles=roles,
            ctx=ctx,
        )
        digest = hashlib.sha256(assertion.encode()).hexdigest()
        valid_until = datetime.fromtimestamp(exp + settings.VAULTSTUDIO_CLOCK_SKEW, tz=UTC)
        with transaction.atomic():
            # Each assertion is accepted once, remembered until it can no longer be valid. In the
            # grant's transaction: if the grant fails, the assertion is not burnt.
            if not replay.remember(digest, valid_until):
                raise TokenRefused(
                    "replayed",
                    "This assertion was already used; sign a new one for every token request.",
                    client_id=cid,
                )
            if key.last_used_at is None or at - key.last_used_at > _LAST_USED_RESOLUTION:
                ServiceAccountKey.objects.filter(pk=key.pk).update(last_used_at=at)
            audit_append(
                actor=service_account_actor(account),
                action="auth.token.grant",
                resource_type="SERVICE_ACCOUNT",
                resource_ids=[cid],
                decision="ALLOW",
                http_status=200,
                details={"key_id": str(key.key_id), "jti": claims["jti"], "roles": roles or [], "exp": claims["exp"]},
            )
        return {"accessToken": token, "tokenType": "Bearer"}
    except TokenRefused as exc:
        _refuse(exc, account)
        raise


def _narrowed_roles(account: ServiceAccount, requested: list[str], client_id: str) -> list[str] | None:
    if not requested:
        return None
    from policies.selectors import bindings_of_service_account

    bound = {str(b.role_id) for b in bindings_of_service_account(account)}
    missing = [r for r in requested if r not in bound]
    if missing:
        raise TokenRefused(
            "role_not_bound", f"scope names roles not bound to this account: {', '.join(missing)}.", client_id=client_id
        )
    return requested


# --- reminders ------------------------------------------------------------------------------------


def key_expiry_sweep(*, now: datetime | None = None) -> int:
    """Remind owners (and admins) of keys expiring in 30, 7 and 1 days, each threshold once; audited.

    Expired keys need no disabling step: every exchange and every request checks ``expires_at``.
    Returns how many reminders were sent.
    """
    now = now or timezone.now()
    thresholds = sorted(settings.VAULTSTUDIO_KEY_REMINDER_DAYS, reverse=True)
    horizon = now + timedelta(days=max(thresholds))
    sent = 0
    candidates = ServiceAccountKey.objects.select_related("service_account").filter(
        revoked_at__isnull=True, expires_at__gt=now, expires_at__lte=horizon, service_account__is_active=True
    )
    for key in candidates:
        days_left = (key.expires_at - now) / timedelta(days=1)
        due = [t for t in thresholds if days_left <= t and t not in key.reminders_sent]
        if not due:
            continue
        threshold = min(due)
        account = key.service_account
        recipients = sorted({u.email for u in account.owners.filter(is_active=True)} | _admin_emails())
        with transaction.atomic():
            key.reminders_sent = sorted({*key.reminders_sent, *due}, reverse=True)
            key.save(update_fields=["reminders_sent"])
            audit_append(
                actor=Actor.system("key-expiry-reminder"),
                action="service_account.key.expiry_reminder",
                resource_type="SERVICE_ACCOUNT_KEY",
                resource_ids=[str(key.key_id)],
                details={"client_id": str(account.client_id), "days": threshold, "recipients": len(recipients)},
            )
        if recipients:
            send_mail(
                subject=f"[VaultStudio] Key of service account {account.name} expires in {threshold} day(s)",
                message=(
                    f"Key {key.key_id} of service account {account.name} ({account.client_id}) expires on "
                    f"{key.expires_at:%Y-%m-%d %H:%M} UTC. Add a new key, switch the application to it, "
                    "then revoke the old one."
                ),
                from_email=None,
                recipient_list=recipients,
                fail_silently=True,
            )
        sent += 1
    return sent


def _admin_emails() -> set[str]:
    from policies.models import ACCOUNT_ADMIN, RoleBinding

    emails = set(
        RoleBinding.objects.filter(role__name=ACCOUNT_ADMIN, user__isnull=False, user__is_active=True).values_list(
            "user__email", flat=True
        )
    )
    return emails
