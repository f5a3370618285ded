"""Reading a person's MFA devices: which count as enrolment, and how the personal page lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import BackupCodeDevice, TOTPDevice, User

TOTP, WEBAUTHN, BACKUP = "totp", "webauthn", "backup"
KIND_LABELS = {TOTP: "Authenticator app (TOTP)", WEBAUTHN: "Passkey / security key (WebAuthn)", BACKUP: "Backup codes"}
# The same kinds, named briefly where many people are listed at once (the studio's users page).
KIND_SHORT_LABELS = {TOTP: "TOTP", WEBAUTHN: "WebAuthn", BACKUP: "Backup codes"}
MODEL_KINDS: dict[type, str] = {TOTPDevice: TOTP, WebAuthnCredential: WEBAUTHN, BackupCodeDevice: BACKUP}


@dataclass(frozen=True)
class DeviceRow:
    kind: str
    id: int
    name: str
    created_at: datetime | None
    last_used_at: datetime | None
    device: Any

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def kind_of(device: Any) -> str:
    kind = MODEL_KINDS.get(type(device))
    if kind is None:
        raise TypeError(f"not an MFA device of VaultStudio: {type(device).__name__}")
    return kind


def totp_devices(user: User) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id"))


def webauthn_devices(user: User) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("id"))


def primary_devices(user: User) -> list[DeviceRow]:
    """The confirmed TOTP apps and passkeys: what makes a person enrolled (backup codes alone don't)."""
    rows = [DeviceRow(TOTP, d.pk, d.name, d.created_at, d.last_used_at, d) for d in totp_devices(user)]
    rows += [DeviceRow(WEBAUTHN, d.pk, d.name, d.created_at, d.last_used_at, d) for d in webauthn_devices(user)]
    return sorted(rows, key=lambda r: (r.created_at is None, r.created_at or datetime.min))


def has_primary_device(user: User) -> bool:
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    )


def backup_device(user: User) -> BackupCodeDevice | None:
    return BackupCodeDevice.objects.filter(user=user, confirmed=True).first()


def backup_codes_left(user: User) -> int:
    device = backup_device(user)
    return device.codes.count() if device else 0


def primary_device_of(user: User, kind: str, device_id: int) -> Any | None:
    """One of ``user``'s confirmed primary devices, or None (never another person's)."""
    model = {TOTP: TOTPDevice, WEBAUTHN: WebAuthnCredential}.get(kind)
    if model is None:
        return None
    return model.objects.filter(user=user, confirmed=True, pk=device_id).first()
