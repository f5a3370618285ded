"""The data plane's storage (DESIGN.md §4, §7): vaults, their schema, records and what indexes them.

Record values live in ``Record.data`` as ``{column: stored value}``, where an encrypted column's
stored value is a ciphertext text (``vaults.crypto``) and a plain column's is the JSON value itself.
Equality lookups on encrypted columns go through ``BlindIndex`` rows; tokens through ``Token`` rows.
Records are reached only through ``vaults.selectors`` (one door to the data).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

DATA_TYPES = (
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "datetime",
    "email",
    "phone",
    "ssn",
    "card_number",
    "json",
)
TOKENIZATION_KINDS = ("NONE", "UUID", "DETERMINISTIC_UUID", "FORMAT_PRESERVING", "TRANSIENT")
REDACTION_LEVELS = ("PLAIN_TEXT", "MASKED", "REDACTED")


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


class Vault(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=128, unique=True)
    description = models.TextField(blank=True)
    rotation_period_days = models.PositiveIntegerField(default=90)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Table(models.Model):
    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="tables")
    name = models.CharField(max_length=63)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vault", "name"]
        constraints = [models.UniqueConstraint(fields=["vault", "name"], name="table_unique_name_in_vault")]

    def __str__(self) -> str:
        return self.name


class Column(models.Model):
    """One column and every option of DESIGN.md §7 (defaults as in §15)."""

    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="columns")
    name = models.CharField(max_length=63)
    position = models.PositiveIntegerField(default=0)
    data_type = models.CharField(max_length=16, choices=_choices(DATA_TYPES), default="string")
    required = models.BooleanField(default=False)
    unique = models.BooleanField(default=False)
    validation = models.JSONField(default=list, blank=True, help_text="Regexes a value must match (all).")
    encrypted = models.BooleanField(default=True)
    searchable = models.BooleanField(default=False, help_text="Keep a blind index for equality lookups.")
    tokenization = models.CharField(max_length=20, choices=_choices(TOKENIZATION_KINDS), default="NONE")
    token_ttl_minutes = models.PositiveIntegerField(null=True, blank=True)
    default_redaction = models.CharField(max_length=10, choices=_choices(REDACTION_LEVELS), default="REDACTED")
    masking = models.JSONField(default=dict, blank=True, help_text='{"preset": …} or {"find": …, "replace": …}')
    column_group = models.CharField(max_length=63, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["table", "position", "name"]
        constraints = [models.UniqueConstraint(fields=["table", "name"], name="column_unique_name_in_table")]

    def __str__(self) -> str:
        return f"{self.table.name}.{self.name}"


class Record(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, help_text="The skyflow_id.")
    # No single-column indexes: (table, created_at) and (table, id) below serve every read by table,
    # and each index is written on every insert.
    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="records", db_index=False)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["table", "created_at"], name="record_table_created"),
            # Reads page a table's records by id, and re-encryption walks them the same way.
            models.Index(fields=["table", "id"], name="record_table_id"),
        ]


class BlindIndex(models.Model):
    """HMAC digest of a column's normalized value, for equality lookups on encrypted columns."""

    # column's own index would repeat the two (column, …) indexes below.
    column = models.ForeignKey(Column, on_delete=models.CASCADE, related_name="blind_index", db_index=False)
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="blind_index")
    digest = models.CharField(max_length=64)
    is_unique = models.BooleanField(default=False, help_text="Copied from the column: enforces uniqueness.")

    class Meta:
        indexes = [models.Index(fields=["column", "digest"], name="blindindex_lookup")]
        constraints = [
            models.UniqueConstraint(fields=["column", "record"], name="blindindex_one_per_record"),
            models.UniqueConstraint(
                fields=["column", "digest"], condition=Q(is_unique=True), name="blindindex_unique_value"
            ),
        ]


class Token(models.Model):
    """A token standing for a column value. Tokens are sensitive: detokenizing needs DETOKENIZATION."""

    token = models.CharField(max_length=128, primary_key=True)
    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="tokens")
    column = models.ForeignKey(Column, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens")
    record = models.ForeignKey(Record, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens")
    column_group = models.CharField(max_length=63, blank=True)
    # Tokens made by the tokenize endpoint have no record: their value is kept here, sealed.
    value_sealed = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)


class DataKey(models.Model):
    """A vault's key, wrapped by a KEK: data-encryption keys by version (one active, the newest not
    retired), and the vault's blind-index secret (purpose ``index``, version 0)."""

    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="data_keys")
    version = models.PositiveIntegerField()
    purpose = models.CharField(max_length=16, default="data", help_text="data | index")
    wrapped_key = models.TextField(help_text="Base64 of the key wrapped by the KEK.")
    kek_id = models.CharField(max_length=256, help_text="Which KEK wraps it (a local id or a KMS key ARN).")
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["vault", "purpose", "version"]
        constraints = [models.UniqueConstraint(fields=["vault", "purpose", "version"], name="datakey_unique_version")]


class IdempotentResponse(models.Model):
    """The first answer to an insert or batch sent with an ``Idempotency-Key``, so a retry gets it
    again and creates nothing twice. Keyed per caller: one caller's key never meets another's."""

    principal = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_unique_key")]


class ReencryptionJob(models.Model):
    """Progress of moving a vault's encrypted values onto its newest data key (DESIGN.md §7, key rotation).

    ``vaults.rotation`` creates one per rotation and advances ``last_record_id`` in the same transaction
    as each batch of re-encrypted records, so a crash resumes after the last committed batch. A vault
    has at most one ``RUNNING`` job; a rotation while one runs retargets it at the newer version.
    """

    RUNNING, DONE = "RUNNING", "DONE"

    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="reencryption_jobs")
    from_versions = models.JSONField(default=list, help_text="Older data key versions being moved away from.")
    to_version = models.PositiveIntegerField(help_text="The data key version every value ends up under.")
    status = models.CharField(max_length=8, choices=[(RUNNING, RUNNING), (DONE, DONE)], default=RUNNING)
    last_record_id = models.UUIDField(null=True, blank=True, help_text="Records up to this id are done (pass cursor).")
    passes = models.PositiveIntegerField(default=1, help_text="A new pass starts when writes raced behind the cursor.")
    records_total = models.PositiveBigIntegerField(default=0, help_text="Records in the vault when the pass began.")
    records_done = models.PositiveBigIntegerField(default=0, help_text="Records examined in this pass.")
    records_reencrypted = models.PositiveBigIntegerField(default=0, help_text="Records rewritten, over all passes.")
    retired_versions = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, help_text="Why the last batch failed (ids and names only, never values).")
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["vault", "-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["vault"], condition=Q(status="RUNNING"), name="reencryptionjob_one_running")
        ]

    def __str__(self) -> str:
        return f"{self.vault_id}: v{self.from_versions} -> v{self.to_version} {self.status}"
