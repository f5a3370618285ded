"""Reads about vaults and their schema. (Records, later, are read only through here too.)"""

from __future__ import annotations

from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from policies.language.schema import ColumnInfo, SchemaInfo, TableInfo
from vaultstudio.errors import NotFound
from vaultstudio.inputs import parse_uuid
from vaultstudio.versioned import VersionedMemo

from .keys import DATA
from .models import Record, Table, Vault
from .schema import SchemaSpec, TableSpec
from .services import spec_of


def vault_list() -> QuerySet[Vault]:
    return Vault.objects.all()


def vaults_with_counts(vault_ids: set[str] | None = None) -> QuerySet[Vault]:
    """Vaults (all, or those in ``vault_ids``) with ``record_count``, ``table_count`` and ``active_since``
    (when their active data key was made), in one query.

    Counting records reads no record data; subqueries keep the counts from multiplying across joins.
    """
    records = (
        Record.objects.filter(table__vault=OuterRef("pk"))
        .order_by()
        .values("table__vault")
        .annotate(n=Count("pk"))
        .values("n")
    )
    vaults = Vault.objects.annotate(
        record_count=Coalesce(Subquery(records, output_field=IntegerField()), Value(0)),
        table_count=Count("tables", distinct=True),
        active_since=Max(
            "data_keys__created_at", filter=Q(data_keys__purpose=DATA, data_keys__retired_at__isnull=True)
        ),
    ).order_by("name")
    if vault_ids is not None:
        vaults = vaults.filter(pk__in=list(vault_ids))
    return vaults


def vault_get(vault_id: str) -> Vault:
    uid = parse_uuid(vault_id)
    vault = Vault.objects.filter(pk=uid).first() if uid else None
    if vault is None:
        raise NotFound(f"No vault with id {vault_id}.")
    return vault


_current_vaults: VersionedMemo[Vault | None] = VersionedMemo()


def vault_get_current(vault_id: str, version: int) -> Vault:
    """``vault_get`` for the data plane: the row is read once per process while the shared version
    stays ``version`` (vault updates and deletes bump it). The instance is shared between requests:
    read it, never change it."""
    uid = parse_uuid(vault_id)
    vault = _current_vaults.get(uid, version, lambda: Vault.objects.filter(pk=uid).first()) if uid else None
    if vault is None:
        raise NotFound(f"No vault with id {vault_id}.")
    return vault


def vault_schema(vault: Vault) -> SchemaSpec:
    """The vault's schema as the document's specs, tables by name, columns in their order."""
    tables = Table.objects.filter(vault=vault).prefetch_related("columns").order_by("name")
    return SchemaSpec(
        tables=tuple(TableSpec(name=t.name, columns=tuple(spec_of(c) for c in t.columns.all())) for t in tables)
    )


def schema_info(vault: Vault) -> SchemaInfo:
    """What the policy compiler and engine know of the vault's schema."""
    tables = Table.objects.filter(vault=vault).prefetch_related("columns")
    return SchemaInfo(
        tables={
            t.name: TableInfo(
                columns={
                    c.name: ColumnInfo(
                        name=c.name,
                        data_type=c.data_type,
                        encrypted=c.encrypted,
                        searchable=c.searchable,
                        default_redaction=c.default_redaction,
                    )
                    for c in t.columns.all()
                }
            )
            for t in tables
        }
    )
