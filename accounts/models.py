"""People and machines (DESIGN.md §4): User, Group, ServiceAccount, ServiceAccountKey, SigningKey; a person's
TOTP apps (secrets sealed), backup codes and studio sessions."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django_otp.models import Device, DeviceManager, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from accounts.mfa import totp

logger = logging.getLogger(__name__)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address: it is the login.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Email is the login; management rights come from built-in roles, data rights only
    from policies (``is_superuser`` never grants data access)."""

    SOURCE_LOCAL, SOURCE_SAML, SOURCE_OIDC, SOURCE_SCIM = "local", "saml", "oidc", "scim"
    SOURCES = [(s, s) for s in (SOURCE_LOCAL, SOURCE_SAML, SOURCE_OIDC, SOURCE_SCIM)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=8, choices=SOURCES, default=SOURCE_LOCAL)
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    attributes = models.JSONField(default=dict, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class Group(models.Model):
    """A group of people, from SCIM or an IdP; role bindings may name it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, unique=True)
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    members = models.ManyToManyField(User, related_name="vault_groups", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ServiceAccount(models.Model):
    """An application's identity. It authenticates by signing JWT assertions with a private key
    that only it holds; VaultStudio stores the public key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    ip_allowlist = models.JSONField(default=list, blank=True, help_text="CIDRs; empty means any address.")
    token_ttl_seconds = models.PositiveIntegerField(default=900)
    owners = models.ManyToManyField(User, related_name="owned_service_accounts", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class ServiceAccountKey(models.Model):
    RS256, ES256 = "RS256", "ES256"
    ALGORITHMS = [(RS256, RS256), (ES256, ES256)]

    key_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service_account = models.ForeignKey(ServiceAccount, on_delete=models.CASCADE, related_name="keys")
    public_key = models.TextField(help_text="PEM (SubjectPublicKeyInfo). The private key is never stored.")
    algorithm = models.CharField(max_length=5, choices=ALGORITHMS)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the DER public key, hex.")
    generated = models.BooleanField(default=False, help_text="True when VaultStudio generated the pair.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.JSONField(default=list, blank=True, help_text="Days-before-expiry already notified.")

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.algorithm})"

    def is_usable(self, at: Any = None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.expires_at > at


class SigningKey(models.Model):
    """VaultStudio's own ES256 key that signs access tokens. The private half is stored only wrapped
    (AES-256-GCM under a key derived from the master key); the public half is published in JWKS."""

    kid = models.CharField(max_length=64, primary_key=True)
    algorithm = models.CharField(max_length=5, default="ES256")
    public_key = models.TextField()
    private_key_wrapped = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="No longer signs; still verifies until dropped.")

    class Meta:
        ordering = ["-created_at"]


class UsedAssertion(models.Model):
    """A token-request assertion already accepted, kept until it expires (replay protection).

    Used when no Redis is configured; with Redis the shared cache holds them instead.
    """

    digest = models.CharField(max_length=64, primary_key=True, help_text="SHA-256 of the assertion, hex.")
    expires_at = models.DateTimeField(db_index=True)


# --- the studio's people: TOTP apps, backup codes and tracked sessions ------------------------------


class TOTPDeviceManager(DeviceManager):
    def create_sealed(
        self, *, user: User, name: str, confirmed: bool, secret: bytes | None = None, **fields: Any
    ) -> TOTPDevice:
        """A new device with ``secret`` (default: 20 random bytes), stored only sealed."""
        device = self.model(user=user, name=name, confirmed=confirmed, **fields)
        device.set_secret(totp.new_secret() if secret is None else secret)
        device.save(force_insert=True, using=self._db)
        return device


class TOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (RFC 6238 TOTP), as django-otp's own TOTPDevice — step, t0, digits,
    tolerance, drift, a time step never accepted twice, throttling — except for the secret.

    django-otp's TOTPDevice stores the secret as plain hex. Here it is stored only sealed
    (AES-256-GCM under a key derived from the master key), with the owner and this row's random
    ``seal_id`` as associated data (``accounts.mfa.totp``): a sealed secret moved to another row does
    not open, and a code is then simply not accepted. Make devices with
    ``TOTPDevice.objects.create_sealed``.
    """

    seal_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, help_text="Random; binds the sealed secret to this row."
    )
    sealed_key = models.TextField(
        help_text="The secret, AES-256-GCM under a key derived from the master key (base64 of nonce + ciphertext)."
    )
    step = models.PositiveSmallIntegerField(default=30, help_text="The time step in seconds.")
    t0 = models.BigIntegerField(default=0, help_text="The Unix time at which to begin counting steps.")
    digits = models.PositiveSmallIntegerField(
        choices=[(6, 6), (8, 8)], default=6, help_text="The number of digits to expect in a token."
    )
    tolerance = models.PositiveSmallIntegerField(
        default=1, help_text="The number of time steps in the past or future to allow."
    )
    drift = models.SmallIntegerField(
        default=0, help_text="The number of time steps the prover is known to deviate from our clock."
    )
    last_t = models.BigIntegerField(
        default=-1,
        help_text="The t value of the latest verified token. The next token must be at a higher time step.",
    )

    objects = TOTPDeviceManager()

    class Meta(Device.Meta):
        verbose_name = "TOTP device"
        constraints = [models.CheckConstraint(condition=~models.Q(sealed_key=""), name="totp_device_key_sealed")]

    def set_secret(self, secret: bytes) -> None:
        """Seal ``secret`` for this row (call ``save()`` to store it)."""
        self.sealed_key = totp.seal_secret(secret, user_id=self.user_id, seal_id=self.seal_id)

    @property
    def bin_key(self) -> bytes:
        """The secret, opened in memory; ``accounts.keys.UnwrapError`` if it does not open here."""
        return totp.open_secret(self.sealed_key, user_id=self.user_id, seal_id=self.seal_id)

    @property
    def config_url(self) -> str:
        """The ``otpauth://`` URI for the QR code an authenticator app scans."""
        return totp.config_url(
            self.bin_key,
            account=str(self.user.get_username()),
            issuer=settings.VAULTSTUDIO_TOTP_ISSUER,
            digits=self.digits,
            step=self.step,
        )

    def get_throttle_factor(self) -> int:
        return int(settings.VAULTSTUDIO_TOTP_THROTTLE_FACTOR)

    # django-otp's throttle_increment/_reset save() every field: a check that loaded the row before
    # another one succeeded would write the old last_t back and make the spent code good again.
    # These write only the throttling fields (the count by an atomic increment).
    def throttle_increment(self, commit: bool = True) -> None:
        now = timezone.now()
        if not commit:
            self.throttling_failure_timestamp, self.throttling_failure_count = now, self.throttling_failure_count + 1
            return
        type(self).objects.filter(pk=self.pk).update(
            throttling_failure_timestamp=now, throttling_failure_count=models.F("throttling_failure_count") + 1
        )
        self.refresh_from_db(fields=["throttling_failure_timestamp", "throttling_failure_count"])

    def throttle_reset(self, commit: bool = True) -> None:
        self.throttling_failure_timestamp, self.throttling_failure_count = None, 0
        if commit:
            self.save(update_fields=["throttling_failure_timestamp", "throttling_failure_count"])

    def verify_token(self, token: Any) -> bool:
        """True if ``token`` is this app's code within ``tolerance`` steps, for a time step later than
        the last one accepted (single use, race-free: the step is claimed by a conditional UPDATE).
        A secret that does not open counts as a wrong code (logged), never as an error."""
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        verified = False
        try:
            code = int(token)
        except (TypeError, ValueError):
            code = None
        if code is not None:
            try:
                key = self.bin_key
            except totp.UnwrapError:
                logger.error(
                    "The TOTP secret of device %s (user %s) does not open: altered, moved from another row, or "
                    "sealed under another master key (after a master-key change: manage.py rewrap_totp_secrets).",
                    self.pk,
                    self.user_id,
                )
            else:
                verified = self._accept(TOTP(key, self.step, self.t0, self.digits, self.drift), code)
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    def _accept(self, check: TOTP, code: int) -> bool:
        check.time = time.time()
        if not check.verify(code, self.tolerance, self.last_t + 1):
            return False
        step, now = check.t(), timezone.now()
        accepted = {
            "last_t": step,
            "drift": check.drift,
            "throttling_failure_count": 0,
            "throttling_failure_timestamp": None,
            "last_used_at": now,
        }
        # Two requests racing with the same code: only the one whose UPDATE moves last_t wins.
        if not type(self).objects.filter(pk=self.pk, last_t__lt=step).update(**accepted):
            return False
        for field, value in accepted.items():
            setattr(self, field, value)
        return True


class BackupCodeDevice(TimestampMixin, Device):
    """A person's set of single-use backup codes, as one django-otp device.

    django-otp's own StaticDevice keeps its codes in plaintext; here only an HMAC-SHA256 digest of
    each code is stored (``accounts.mfa.backup_codes``), and a code is deleted when it is used.
    """

    class Meta:
        verbose_name = "backup code set"

    def verify_token(self, token: Any) -> bool:
        from accounts.mfa.backup_codes import consume

        verified = consume(self, str(token))
        if verified:
            self.set_last_used_timestamp()
        return verified


class BackupCode(models.Model):
    """One unused backup code: its HMAC-SHA256 digest (keyed by the server secret and bound to its
    device), never the code itself."""

    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "digest"], name="backup_code_unique_digest")]


class UserSession(models.Model):
    """A person's live studio session, so that it can be listed on their page and ended (alone or all
    at once, on deactivation) without reading every session in the store."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="studio_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"session of {self.user_id} since {self.created_at:%Y-%m-%d %H:%M}"
