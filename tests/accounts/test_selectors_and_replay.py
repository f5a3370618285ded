"""The raw-SQL key selector returns what the ORM would; the replay store remembers until expiry."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import replay
from accounts.models import ServiceAccount, ServiceAccountKey, UsedAssertion
from accounts.selectors import service_account_key_for

pytestmark = pytest.mark.django_db


def test_key_selector_matches_the_orm(service_account_factory):
    account, key, _ = service_account_factory(ip_allowlist=["10.0.0.0/8"], token_ttl_seconds=300)
    got = service_account_key_for(str(key.key_id), str(account.client_id))
    orm = ServiceAccountKey.objects.select_related("service_account").get(pk=key.pk)
    for name in ("key_id", "algorithm", "public_key", "fingerprint", "expires_at", "revoked_at", "last_used_at"):
        assert getattr(got, name) == getattr(orm, name), name
    assert got.expires_at.tzinfo is not None
    account_orm = ServiceAccount.objects.get(pk=account.pk)
    for name in ("id", "client_id", "name", "is_active", "ip_allowlist", "token_ttl_seconds"):
        assert getattr(got.service_account, name) == getattr(account_orm, name), name
    # Columns not selected load on access, like deferred fields.
    assert got.service_account.description == account_orm.description
    assert got.service_account_id == account.pk


@pytest.mark.parametrize("key_id, client_id", [("nope", "nope"), ("", ""), (None, None)])
def test_key_selector_bad_ids(key_id, client_id):
    assert service_account_key_for(key_id, client_id) is None


def test_key_selector_needs_the_right_account(service_account_factory):
    _, key, _ = service_account_factory()
    other, _, _ = service_account_factory()
    assert service_account_key_for(str(key.key_id), str(other.client_id)) is None


@pytest.mark.parametrize("store", ["cache", "database"])
def test_replay_store_remembers_once(settings, store):
    settings.VAULTSTUDIO_REPLAY_STORE = store
    digest = hashlib.sha256(f"assertion-{store}".encode()).hexdigest()
    until = timezone.now() + timedelta(minutes=5)
    assert replay.remember(digest, until) is True
    assert replay.remember(digest, until) is False


def test_auto_store_is_the_database_without_redis(settings):
    settings.VAULTSTUDIO_REPLAY_STORE = "auto"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "t"}}
    assert replay.uses_cache() is False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}}
    assert replay.uses_cache() is True


def test_purge_forgets_only_expired(settings):
    settings.VAULTSTUDIO_REPLAY_STORE = "database"
    now = timezone.now()
    replay.remember("a" * 64, now - timedelta(seconds=1))
    replay.remember("b" * 64, now + timedelta(minutes=1))
    assert replay.purge_expired(now) == 1
    assert list(UsedAssertion.objects.values_list("digest", flat=True)) == ["b" * 64]
    from accounts.tasks import purge_used_assertions

    assert purge_used_assertions() == 0
