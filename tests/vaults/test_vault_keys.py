"""A new vault gets its data key and index secret, wrapped by the KEK, never stored in the clear."""

from __future__ import annotations

import base64

import pytest

from vaults import keys
from vaults.crypto.config import get_keyring
from vaults.crypto.envelope import ColumnAad, open_text, seal_text
from vaults.crypto.errors import KeyUnwrapError
from vaults.models import DataKey
from vaults.services import vault_create

pytestmark = pytest.mark.django_db


def test_a_new_vault_has_a_data_key_and_an_index_key(actor):
    vault = vault_create(actor=actor, name="keys")
    rows = {(r.purpose, r.version) for r in DataKey.objects.filter(vault=vault)}
    assert rows == {("data", 1), ("index", 0)}
    key = keys.active_data_key(vault)
    aad = ColumnAad(vault_id=str(vault.id), table="persons", column="ssn").for_record("r1")
    text = seal_text(key, b"123-45-6789", aad=aad)
    assert keys.data_keys(vault)[1] is key  # unwrapped once, then cached
    assert open_text(keys.data_keys(vault)[1], text, aad=aad) == b"123-45-6789"
    assert len(keys.index_key(vault).column_key("persons", "ssn")) == 32


def test_wrapped_keys_do_not_open_under_another_master_key(actor, settings):
    from vaultstudio.master_key import load_master_key

    vault = vault_create(actor=actor, name="keys2")
    for row in DataKey.objects.filter(vault=vault):
        assert len(base64.b64decode(row.wrapped_key)) > 32 and row.kek_id == "default"
    settings.VAULTSTUDIO_MASTER_KEY = base64.b64encode(b"z" * 32).decode()
    load_master_key.cache_clear()
    get_keyring.cache_clear()
    with pytest.raises(KeyUnwrapError):
        keys.active_data_key(vault)


def test_two_vaults_have_different_keys(actor):
    one = vault_create(actor=actor, name="one")
    two = vault_create(actor=actor, name="two")
    aad = ColumnAad(vault_id=str(one.id), table="t", column="c").for_record("r")
    text = seal_text(keys.active_data_key(one), b"secret", aad=aad)
    from vaults.crypto.errors import CiphertextIntegrityError

    with pytest.raises(CiphertextIntegrityError):
        open_text(keys.active_data_key(two), text, aad=aad)
