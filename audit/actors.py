"""Who did something, as the audit log records it."""

from __future__ import annotations

from dataclasses import dataclass

# actor types (Skyflow's context.actorType uses USER and SERVICE_ACCOUNT)
USER = "USER"
SERVICE_ACCOUNT = "SERVICE_ACCOUNT"
SYSTEM = "SYSTEM"
ANONYMOUS = "NONE"

# auth modes (Skyflow's context.authMode names the service-account one SERVICE_ACCOUNT_JWT)
AUTH_NONE = "AUTH_NONE"
AUTH_SERVICE_ACCOUNT_JWT = "SERVICE_ACCOUNT_JWT"
AUTH_SESSION = "SESSION"
AUTH_SYSTEM = "SYSTEM"
AUTH_CLI = "CLI"


@dataclass(frozen=True)
class Actor:
    type: str
    id: str
    display: str
    auth_mode: str = AUTH_NONE

    @classmethod
    def system(cls, display: str = "system") -> Actor:
        return cls(SYSTEM, "", display, AUTH_SYSTEM)

    @classmethod
    def cli(cls, display: str = "manage.py") -> Actor:
        return cls(SYSTEM, "", display, AUTH_CLI)

    @classmethod
    def anonymous(cls, claimed_id: str = "", display: str = "") -> Actor:
        return cls(ANONYMOUS, claimed_id, display, AUTH_NONE)
