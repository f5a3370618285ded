"""The records browser: a table's records as the viewer's OWN policies allow, through the same engine
and the same read path as the data-plane API (``VaultAccess`` + ``records_read``).

- Any studio member may open it: data access is by policy only (a superuser or VAULT_OWNER gets
  nothing without a READ policy).
- Values are shown MASKED by default: the page asks ``records_read`` for redaction MASKED, which caps
  every grant (PLAIN_TEXT becomes MASKED; a REDACTED grant stays REDACTED — asking never raises a level).
- Reveal (POST, step-up) asks again for that one value with redaction PLAIN_TEXT, so the engine gives
  at most what the viewer's policy grants for that row; ``records_read`` audits it as ``record.reveal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from audit.services import append_deferred
from policies.engine import Decision
from vaults.masking import MASKED, PLAIN_TEXT, REDACTED, REDACTED_VALUE
from vaults.models import Column, Table, Vault
from vaults.records import ReadRequest, VaultAccess, records_read, tokens_detokenize
from vaults.selectors import vault_get, vault_list
from vaultstudio.errors import VaultError
from vaultstudio.inputs import parse_uuid
from vaultstudio.studio.site import studio_page

from .forms import PAGE_SIZES, DetokenizeForm, RecordsPageForm, RevealForm

NOT_GRANTED = "NOT_GRANTED"


@dataclass(frozen=True)
class ColumnView:
    name: str
    data_type: str
    tokenized: bool
    encrypted: bool
    shown: str | None  # the level every row shows (None: it varies by row, or not granted at all)
    revealable: bool  # the policy grants more than the masked value, at least for some rows
    granted: bool


@dataclass(frozen=True)
class Cell:
    column: str
    value: Any
    level: str  # PLAIN_TEXT | MASKED | REDACTED | NOT_GRANTED
    revealable: bool
    revealed: bool = False


@dataclass(frozen=True)
class Revealed:
    """A value revealed for one cell; ``level`` None when the policy's level varies by row (the
    masked cell of the same row then tells: equal to it means MASKED was all there was)."""

    record_id: str
    column: str
    value: Any
    level: str | None

    def cell(self, masked: Cell) -> Cell:
        level = self.level
        if level is None:
            level = MASKED if masked.value == self.value else PLAIN_TEXT
        return Cell(self.column, self.value, level, False, revealed=True)


def _access(request: HttpRequest, vault: Vault, table: str) -> tuple[VaultAccess, Table, dict[str, Column]]:
    access = VaultAccess(request.user, vault)
    found, columns = access.table(table)
    return access, found, columns


def _uniform_level(decision: Decision, column: str) -> str | None:
    """The one level a column has on every row where it is granted, or None when it varies."""
    grant = decision.columns.get(column)
    if grant is None or not grant.levels:
        return None
    levels = {g.level for g in grant.levels}
    return levels.pop() if len(levels) == 1 else None


def _level_of_value(value: Any, known: str | None) -> str:
    if known is not None:
        return known
    # The level varies by row (row conditions): the engine rendered REDACTED as its literal.
    return REDACTED if value == REDACTED_VALUE else MASKED


def _column_views(access: VaultAccess, table: str, columns: dict[str, Column]) -> list[ColumnView]:
    shown = access.decide("READ", table, None, MASKED)
    most = access.decide("READ", table, None, PLAIN_TEXT)
    views = []
    for name, column in columns.items():
        grant = most.columns.get(name)
        views.append(
            ColumnView(
                name=name,
                data_type=column.data_type,
                tokenized=column.tokenization != "NONE",
                encrypted=column.encrypted,
                shown=_uniform_level(shown, name),
                revealable=grant is not None and any(g.level == PLAIN_TEXT for g in grant.levels),
                granted=name in shown.columns,
            )
        )
    return views


def _page_rows(
    access: VaultAccess, table: str, column_views: list[ColumnView], offset: int, limit: int
) -> list[dict[str, Any]]:
    """One page of records, masked; every cell with the level it shows."""
    read = records_read(access, table, ReadRequest(redaction=MASKED, offset=offset, limit=limit, order_by="ASCENDING"))
    rows = []
    for record in read:
        fields = record["fields"]
        cells = []
        for view in column_views:
            if view.name not in fields:
                cells.append(Cell(view.name, None, NOT_GRANTED, False))
                continue
            value = fields[view.name]
            cells.append(Cell(view.name, value, _level_of_value(value, view.shown), view.revealable))
        rows.append({"id": fields["skyflow_id"], "cells": cells})
    return rows


def _render_table(
    request: HttpRequest,
    vault: Vault,
    table: str,
    offset: int,
    limit: int,
    revealed: Revealed | None = None,
) -> HttpResponse:
    access, found, columns = _access(request, vault, table)
    column_views = _column_views(access, table, columns)
    rows = _page_rows(access, table, column_views, offset, limit)
    if revealed is not None:
        for row in rows:
            if row["id"] == revealed.record_id:
                row["cells"] = [revealed.cell(c) if c.column == revealed.column else c for c in row["cells"]]
    base = reverse("studio:table_records", kwargs={"vault_id": vault.id, "table": table})
    return render(
        request,
        "vaults/table_records.html",
        {
            "title": f"{vault.name} / {table}",
            "vault": vault,
            "table": table,
            "columns": column_views,
            "rows": rows,
            "readable": any(view.granted for view in column_views),
            "offset": offset,
            "limit": limit,
            "page_sizes": PAGE_SIZES,
            "first_shown": offset + 1,
            "last_shown": offset + len(rows),
            "previous_url": f"{base}?offset={max(offset - limit, 0)}&limit={limit}" if offset > 0 else None,
            "next_url": f"{base}?offset={offset + limit}&limit={limit}" if len(rows) == limit else None,
        },
    )


@studio_page
def records_index_page(request: HttpRequest) -> HttpResponse:
    """Pick a vault and a table. Which tables the viewer's policies let them read is shown up front."""
    vaults = []
    for vault in vault_list().prefetch_related("tables"):
        access = VaultAccess(request.user, vault)
        tables = [
            {"name": t.name, "readable": access.decide("READ", t.name, None, MASKED).allowed}
            for t in sorted(vault.tables.all(), key=lambda t: t.name)
        ]
        vaults.append({"vault": vault, "tables": tables})
    return render(request, "vaults/records_index.html", {"title": "Records", "vaults": vaults})


@studio_page
def table_records_page(request: HttpRequest, vault_id: Any, table: str) -> HttpResponse:
    offset, limit = RecordsPageForm(request.GET).page()
    return _render_table(request, vault_get(str(vault_id)), table, offset, limit)


@studio_page(step_up=True)
def record_reveal_page(request: HttpRequest, vault_id: Any, table: str, record_id: str) -> HttpResponse:
    """POST: one value at most at the level the viewer's policy grants (audited as ``record.reveal``).
    GET (back from step-up): asks to confirm, since a GET must not reveal anything."""
    vault = vault_get(str(vault_id))
    if parse_uuid(record_id) is None:
        raise Http404("No such record.")
    if request.method != "POST":
        column = request.GET.get("column", "")
        if column == "":
            raise Http404("Name the column to reveal.")
        return render(
            request,
            "vaults/reveal_confirm.html",
            {
                "title": "Reveal a value",
                "vault": vault,
                "table": table,
                "record_id": record_id,
                "column": column,
                "back": reverse("studio:table_records", kwargs={"vault_id": vault.id, "table": table}),
            },
        )
    # The reveal form names its column in the query string too, so that after a step-up (which
    # returns to this URL by GET, then posts the confirmation here) the column is not lost.
    form = RevealForm({**request.GET.dict(), **request.POST.dict()})
    if not form.is_valid():
        raise Http404("No such column.")
    column = form.cleaned_data["column"]
    offset = form.cleaned_data["offset"] or 0
    limit = form.cleaned_data["limit"] or PAGE_SIZES[0]
    access, _, columns = _access(request, vault, table)
    if column not in columns:
        raise Http404(f"No column {column} in {table}.")
    try:
        read = records_read(
            access,
            table,
            ReadRequest(record_ids=(record_id,), fields=(column,), redaction=PLAIN_TEXT, limit=1),
            single=True,
            action_name="reveal",
        )
    except VaultError as exc:
        append_deferred(exc)  # the refusal's event, if it was raised in a transaction
        messages.error(request, f"Nothing to reveal: {exc.message}")
        return _render_table(request, vault, table, offset, limit)
    fields = read[0]["fields"]
    if column not in fields:
        messages.error(request, f"Your policies grant no access to {table}.{column} of this record.")
        return _render_table(request, vault, table, offset, limit)
    value = fields[column]
    level = _uniform_level(access.decide("READ", table, [column], PLAIN_TEXT), column)
    if level is None and value == REDACTED_VALUE:
        level = REDACTED
    if level is not None and level != PLAIN_TEXT:
        messages.info(request, f"Your policy grants {table}.{column} of this record as {level} at most.")
    revealed = Revealed(str(fields["skyflow_id"]), column, value, level)
    return _render_table(request, vault, table, offset, limit, revealed=revealed)


@studio_page(step_up=True)
def detokenize_page(request: HttpRequest, vault_id: Any) -> HttpResponse:
    """Tokens of a vault back to their values, each at most at the viewer's DETOKENIZATION level
    (``tokens_detokenize``, the data plane's own path, audits it as ``token.detokenize``). The whole
    page needs step-up, so that tokens are typed only after it and never travel in a URL."""
    vault = vault_get(str(vault_id))
    form = DetokenizeForm(request.POST if request.method == "POST" else None)
    results = None
    if request.method == "POST" and form.is_valid():
        access = VaultAccess(request.user, vault)
        results = tokens_detokenize(access, [(token, PLAIN_TEXT) for token in form.cleaned_data["tokens"]])
    return render(
        request,
        "vaults/detokenize.html",
        {"title": f"Detokenize in {vault.name}", "vault": vault, "form": form, "results": results},
    )
