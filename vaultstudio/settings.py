"""VaultStudio settings, read from the environment (django-environ).

Development runs on safe embedded defaults (a SQLite file, a database-backed shared cache, the
filesystem Celery broker, a master key generated into ``var/``). With ``DEBUG=False`` every
setting that production must choose on purpose is required, and start-up stops with one message
naming all that are missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import environ
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAULTSTUDIO_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
DEBUG = env.bool("DEBUG", default=True)

# --- what production must set ------------------------------------------------------------------
REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CACHE_URL or REDIS_URL",
    "CELERY_BROKER_URL",
    "VAULTSTUDIO_BASE_URL",
    "VAULTSTUDIO_MASTER_KEY or VAULTSTUDIO_MASTER_KEY_FILE",
)


def _is_set(name: str) -> bool:
    return any(env.str(part.strip(), default="") for part in name.split(" or "))


if not DEBUG:
    _missing = [name for name in REQUIRED_IN_PRODUCTION if not _is_set(name)]
    if _missing:
        raise ImproperlyConfigured(
            "VaultStudio runs with DEBUG=False and these settings are missing from the environment: "
            + ", ".join(_missing)
            + ". Set them (see README.md, 'Configuration') or set DEBUG=True for development."
        )

SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-vaultstudio-development-only")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
VAULTSTUDIO_BASE_URL = env.str("VAULTSTUDIO_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- applications -----------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",  # device types: accounts.models (TOTP secrets sealed, backup codes hashed), WebAuthn
    "django_otp_webauthn",
    "axes",
    "csp",
    "accounts",
    "policies",
    "vaults",
    "audit",
]

MIDDLEWARE = [
    "vaultstudio.middleware.RequestIdMiddleware",
    "vaultstudio.middleware.ApiErrorEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.StudioSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by authentication into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "vaultstudio.urls"
WSGI_APPLICATION = "vaultstudio.wsgi.application"
ASGI_APPLICATION = "vaultstudio.asgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "vaultstudio.studio.site.nav_context",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'vaultstudio.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # Every transaction takes the write lock when it starts, so two writers never
            # deadlock upgrading a read lock (and audit appends are serialized by SQLite itself).
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a file, not an in-memory database: the live server's request threads then open their
    # own connections instead of sharing one across threads. One file per test process.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
# Keep connections between requests (a new PostgreSQL connection costs more than a whole token
# exchange); health checks drop ones the server has closed.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- shared cache: replay caches, version keys and revocation state live here -----------------
# Never per-process memory: two workers must agree on every security decision (DESIGN.md §14).
_cache_url = env.str("CACHE_URL", default="") or env.str("REDIS_URL", default="")
if _cache_url.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "vs",
        }
    }
elif _cache_url:
    CACHES = {"default": env.cache_url_config(_cache_url)}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "vaultstudio_cache",
            "KEY_PREFIX": "vs",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- passwords, sessions, security headers -----------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out email/IP before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "studio:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = 0 if DEBUG else env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
CSRF_FAILURE_VIEW = "vaultstudio.errors.csrf_failure"
# Strict CSP (django-csp): no inline script or style anywhere; scripts and styles are static files.
# A page that truly needs an inline <script> uses the per-request nonce ({{ request.csp_nonce }}).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", csp_constants.NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- i18n, static ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
WHITENOISE_USE_FINDERS = True
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("VAULTSTUDIO_MAX_BODY_BYTES", default=10 * 1024 * 1024)

# --- DRF and OpenAPI ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ServiceAccountTokenAuthentication",
        "accounts.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "vaultstudio.parsers.LenientContentNegotiation",
    "EXCEPTION_HANDLER": "vaultstudio.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VaultStudio API",
    "DESCRIPTION": "Data plane (Skyflow-compatible /v1) and management plane (/api/v1) of VaultStudio.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# --- Celery (embedded default: kombu's filesystem transport, no server needed) ------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    # kombu's filesystem transport needs its folders before the first message.
    for _folder in ("queue", "processed", "control"):
        (VAR_DIR / "celery" / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE = {
    "audit-verify-chain": {"task": "audit.tasks.verify_chain", "schedule": 3600.0},
    "service-account-key-expiry": {"task": "accounts.tasks.key_expiry_sweep", "schedule": 3600.0},
    "purge-used-assertions": {"task": "accounts.tasks.purge_used_assertions", "schedule": 900.0},
    "vaults-rotation-due": {"task": "vaults.tasks.rotation_due", "schedule": 3600.0},
    "vaults-reencrypt-stalled": {"task": "vaults.tasks.reencrypt_stalled", "schedule": 600.0},
}

# --- email (key-expiry reminders) -----------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="vaultstudio@localhost")

# --- VaultStudio knobs (documented in README.md, "Configuration") --------------------------------
# The studio's sessions and MFA (DESIGN.md §10): idle and absolute lifetimes, and how recent an MFA
# check must be for a step-up action (reveal, detokenize, keys, policies, SSO/SCIM settings).
VAULTSTUDIO_SESSION_IDLE_SECONDS = env.int("VAULTSTUDIO_SESSION_IDLE_SECONDS", default=30 * 60)
VAULTSTUDIO_SESSION_ABSOLUTE_SECONDS = env.int("VAULTSTUDIO_SESSION_ABSOLUTE_SECONDS", default=12 * 3600)
VAULTSTUDIO_STEP_UP_SECONDS = env.int("VAULTSTUDIO_STEP_UP_SECONDS", default=10 * 60)
SESSION_COOKIE_AGE = VAULTSTUDIO_SESSION_ABSOLUTE_SECONDS
# Lockout (django-axes): this many failures of a password or an MFA code lock the account out.
AXES_FAILURE_LIMIT = env.int("VAULTSTUDIO_LOCKOUT_FAILURES", default=5)
AXES_COOLOFF_TIME = env.float("VAULTSTUDIO_LOCKOUT_HOURS", default=0.5)
# Either a locked email or a locked client address is refused (a username-only lockout lets one
# address try every account; an address-only one lets a botnet try one account).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "email"
# Failures are cleared when the person passes MFA (accounts.login.services.mfa_passed), not at the
# password: else a known password would reset the count of wrong MFA codes at every new try.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "accounts.login.views.lockout_response"
AXES_VERBOSE = False
# WebAuthn / passkeys (django-otp-webauthn): the relying party is this server's host. Browsers allow
# WebAuthn only on https:// origins and on http://localhost, so a plain-http base URL on another
# host (the development default, 127.0.0.1) falls back to http://localhost on the same port.
_base = urlparse(VAULTSTUDIO_BASE_URL)
_webauthn_origin = (
    VAULTSTUDIO_BASE_URL
    if _base.scheme == "https" or _base.hostname == "localhost"
    else f"http://localhost:{_base.port or 80}"
)
OTP_WEBAUTHN_RP_ID = env.str("VAULTSTUDIO_WEBAUTHN_RP_ID", default=urlparse(_webauthn_origin).hostname or "localhost")
OTP_WEBAUTHN_RP_NAME = "VaultStudio"
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list("VAULTSTUDIO_WEBAUTHN_ORIGINS", default=[_webauthn_origin])
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
# TOTP apps (accounts.models.TOTPDevice): the issuer named in the QR code's label, and django-otp's
# back-off after a wrong code (the next try waits factor × 2^(failures − 1) seconds; 0: none).
VAULTSTUDIO_TOTP_ISSUER = env.str("VAULTSTUDIO_TOTP_ISSUER", default="VaultStudio")
VAULTSTUDIO_TOTP_THROTTLE_FACTOR = 1

VAULTSTUDIO_MASTER_KEY = env.str("VAULTSTUDIO_MASTER_KEY", default="")
VAULTSTUDIO_MASTER_KEY_FILE = env.str("VAULTSTUDIO_MASTER_KEY_FILE", default=str(VAR_DIR / "master.key"))
# Key provider for vault keys (vaults/crypto/config.py): "local" KEKs (the master key is "default";
# VAULTSTUDIO_KEKS="id:base64,…" adds more, VAULTSTUDIO_ACTIVE_KEK picks the one new keys use) or
# "aws-kms" (VAULTSTUDIO_KMS_KEY_ID); unwrapped keys are cached in memory within these bounds.
VAULTSTUDIO_KEY_PROVIDER = env.str("VAULTSTUDIO_KEY_PROVIDER", default="local")
VAULTSTUDIO_KEKS = env.str("VAULTSTUDIO_KEKS", default="")
VAULTSTUDIO_ACTIVE_KEK = env.str("VAULTSTUDIO_ACTIVE_KEK", default="")
VAULTSTUDIO_KMS_KEY_ID = env.str("VAULTSTUDIO_KMS_KEY_ID", default="")
VAULTSTUDIO_KEY_CACHE_MAX_ENTRIES = env.int("VAULTSTUDIO_KEY_CACHE_MAX_ENTRIES", default=1024)
VAULTSTUDIO_KEY_CACHE_MAX_AGE = env.float("VAULTSTUDIO_KEY_CACHE_MAX_AGE", default=300.0)
VAULTSTUDIO_ACCOUNT_ID = env.str("VAULTSTUDIO_ACCOUNT_ID", default="vaultstudio")
VAULTSTUDIO_TOKEN_PATH = "/v1/auth/sa/oauth/token"
VAULTSTUDIO_ACCESS_TOKEN_TTL_DEFAULT = 900
VAULTSTUDIO_ACCESS_TOKEN_TTL_MAX = 3600
VAULTSTUDIO_ASSERTION_MAX_LIFETIME = 3600
VAULTSTUDIO_CLOCK_SKEW = 60
VAULTSTUDIO_KEY_LIFETIME_DAYS = env.int("VAULTSTUDIO_KEY_LIFETIME_DAYS", default=365)
VAULTSTUDIO_MAX_ACTIVE_KEYS = 2
VAULTSTUDIO_KEY_REMINDER_DAYS = (30, 7, 1)
# Where accepted assertions are remembered: "cache" (Redis SET NX), "database" (a table that cannot
# evict), or "auto" = the cache when it is Redis, else the database.
VAULTSTUDIO_REPLAY_STORE = env.str("VAULTSTUDIO_REPLAY_STORE", default="auto")
# Proxies whose X-Forwarded-For may be trusted for the client IP (IP allowlists). Empty: use the
# socket peer only, so a caller can never claim another address by sending the header itself.
VAULTSTUDIO_TRUSTED_PROXIES = env.list("VAULTSTUDIO_TRUSTED_PROXIES", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
