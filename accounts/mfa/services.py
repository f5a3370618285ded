"""Changes to a person's MFA devices — each audited in its transaction (DESIGN.md §3.3, §10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_otp import devices_for_user

from accounts.models import BackupCode, BackupCodeDevice, TOTPDevice, User
from accounts.sessions import end_sessions
from audit.actors import Actor
from audit.services import audit_append
from vaultstudio.errors import BadRequest, Conflict
from vaultstudio.master_key import load_master_key

from . import backup_codes, totp
from .devices import KIND_LABELS, has_primary_device, kind_of, primary_devices

PENDING_TOTP_NAME = "Authenticator app"


def totp_secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed in (RFC 4648 base32, no padding)."""
    return totp.base32(device.bin_key)


def totp_device_start(*, user: User, pending_id: int | None = None) -> TOTPDevice:
    """The unconfirmed TOTP device an enrolment page shows: the one already pending in this
    session, or a new one with a new secret (stored only sealed). It does not count (nor is it
    audited) until a code confirms it."""
    if pending_id is not None:
        device = TOTPDevice.objects.filter(user=user, confirmed=False, pk=pending_id).first()
        if device is not None and _opens(device):
            return device
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create_sealed(user=user, name=PENDING_TOTP_NAME, confirmed=False)


def _opens(device: TOTPDevice) -> bool:
    # A pending secret sealed under a master key since replaced cannot be shown again: start anew.
    try:
        device.bin_key  # noqa: B018
    except totp.UnwrapError:
        return False
    return True


def totp_device_confirm(*, actor: Actor, device: TOTPDevice, token: str, name: str = "") -> bool:
    """Confirm a pending TOTP device with a code from the app; False (and nothing changes) if the
    code is wrong. The code is spent: TOTPDevice refuses any time step up to the one used here."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, confirmed=False)
        if not device.verify_token(token):
            return False
        device.confirmed = True
        device.name = (name or PENDING_TOTP_NAME).strip()[:64]
        device.save(update_fields=["confirmed", "name"])
        _audit_device(actor, "mfa.device.create", device)
    return True


@dataclass(frozen=True)
class TotpRewrap:
    """What ``totp_secrets_rewrap`` did: device ids re-sealed, already current, and opening under
    neither key (their people must enrol their app again)."""

    rewrapped: list[int]
    current: list[int]
    unreadable: list[int]


def totp_secrets_rewrap(*, actor: Actor, previous_master_key: bytes) -> TotpRewrap:
    """After a master-key change: seal again, under the configured master key, every TOTP secret
    that still opens only under ``previous_master_key``. Idempotent (a device already sealed under
    the current key is left as it is); one transaction, audited."""
    current_key = load_master_key()
    rewrapped: list[int] = []
    current: list[int] = []
    unreadable: list[int] = []
    with transaction.atomic():
        for device in TOTPDevice.objects.select_for_update().order_by("pk"):
            row = {"user_id": device.user_id, "seal_id": device.seal_id}
            try:
                totp.open_secret(device.sealed_key, master_key=current_key, **row)
            except totp.UnwrapError:
                pass
            else:
                current.append(device.pk)
                continue
            try:
                secret = totp.open_secret(device.sealed_key, master_key=previous_master_key, **row)
            except totp.UnwrapError:
                unreadable.append(device.pk)
                continue
            device.sealed_key = totp.seal_secret(secret, master_key=current_key, **row)
            device.save(update_fields=["sealed_key"])
            rewrapped.append(device.pk)
        audit_append(
            actor=actor,
            action="mfa.totp.rewrap",
            resource_type="TOTP_DEVICE",
            resource_ids=[str(pk) for pk in rewrapped],
            details={"rewrapped": len(rewrapped), "current": len(current), "unreadable": unreadable},
        )
    return TotpRewrap(rewrapped, current, unreadable)


def webauthn_device_added(*, actor: Actor, device: Any) -> None:
    """Audit a passkey that django-otp-webauthn has just registered (it saves the credential itself)."""
    _audit_device(actor, "mfa.device.create", device)


def device_remove(*, actor: Actor, device: Any) -> None:
    """Remove a TOTP app or passkey. The last one cannot go: MFA is mandatory (add another first)."""
    with transaction.atomic():
        others = [row for row in primary_devices(device.user) if row.device != device]
        if not others:
            raise Conflict("This is your only authenticator: add another one before removing it.")
        _audit_device(actor, "mfa.device.delete", device)
        device.delete()


def backup_codes_regenerate(*, actor: Actor, user: User) -> list[str]:
    """Replace the person's backup codes with new ones and return them (to be shown once only)."""
    codes = backup_codes.new_codes()
    with transaction.atomic():
        device = BackupCodeDevice.objects.filter(user=user).first()
        if device is None:
            device = BackupCodeDevice.objects.create(user=user, name="Backup codes", confirmed=True)
        device.codes.all().delete()
        BackupCode.objects.bulk_create(
            BackupCode(device=device, digest=backup_codes.digest(device.pk, c)) for c in codes
        )
        audit_append(
            actor=actor,
            action="mfa.backup_codes.regenerate",
            resource_type="USER",
            resource_ids=[str(user.pk)],
            details={"count": len(codes)},
        )
    return codes


def enrolment_complete(*, actor: Actor, user: User) -> list[str]:
    """After a person's first authenticator: their backup codes (shown once)."""
    if not has_primary_device(user):
        raise Conflict("No authenticator is confirmed yet.")
    return backup_codes_regenerate(actor=actor, user=user)


@dataclass(frozen=True)
class MfaReset:
    """What ``mfa_reset`` removed: devices per kind (confirmed or pending), the backup codes left
    unused, and the sessions ended."""

    devices: dict[str, int]
    backup_codes: int
    sessions_ended: int


def mfa_reset(*, actor: Actor, user: User) -> MfaReset:
    """An account admin's way back in for a person who lost every factor: delete every MFA device
    of ``user`` of every type (TOTP apps, passkeys, the backup-code device with its codes; pending
    ones too), end all their sessions, and audit it — one transaction. Their next sign-in after the
    password goes to enrolment (a person without a confirmed device can reach nothing else).

    Nobody resets their own MFA this way: they manage it on their personal page, behind step-up."""
    if actor.id == str(user.pk):
        raise BadRequest("You cannot reset your own MFA here; manage your devices on your personal page.")
    with transaction.atomic():
        devices: dict[str, int] = {}
        codes = 0
        # django-otp's own walk over the device models, pending (unconfirmed) devices included.
        for device in devices_for_user(user, confirmed=None, for_verify=True):
            kind = kind_of(device)
            devices[kind] = devices.get(kind, 0) + 1
            if isinstance(device, BackupCodeDevice):
                codes += device.codes.count()
            device.delete()  # a backup-code device takes its codes with it (CASCADE)
        ended = end_sessions(user)
        audit_append(
            actor=actor,
            action="mfa.reset",
            resource_type="USER",
            resource_ids=[str(user.pk)],
            details={
                "email": user.email,
                "devices_removed": dict(sorted(devices.items())),
                "backup_codes_removed": codes,
                "sessions_ended": ended,
            },
        )
    return MfaReset(dict(sorted(devices.items())), codes, ended)


def _audit_device(actor: Actor, action: str, device: Any) -> None:
    kind = kind_of(device)
    audit_append(
        actor=actor,
        action=action,
        resource_type="USER",
        resource_ids=[str(device.user_id)],
        details={"device_kind": kind, "device_id": device.pk, "device_name": device.name, "label": KIND_LABELS[kind]},
    )
