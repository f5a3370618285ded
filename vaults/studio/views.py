"""The studio's vault pages: the vault list, a vault's tables and columns, and the schema editor.

VAULT_OWNER only; an owner whose binding names one vault sees only that vault (others are a 404,
like a vault that does not exist). Every schema change builds the schema document of DESIGN.md §15
from the vault's current schema, changes one table or column in it, and hands it to the one door:
``parse_schema`` (its errors go back on the form's fields) and ``vault_schema_update`` (audited).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.principals import actor_of
from policies.models import VAULT_OWNER
from policies.selectors import vault_owner_scope
from vaults.models import Vault
from vaults.schema import SchemaErrors, parse_schema
from vaults.selectors import vault_get, vault_schema, vaults_with_counts
from vaults.services import vault_create, vault_schema_update, vault_update
from vaultstudio.errors import VaultError
from vaultstudio.studio.site import forbidden, posted, studio_page

from .forms import ColumnForm, DropForm, SchemaDocumentForm, TableForm, VaultForm, attach_schema_errors


def owned_vault(request: HttpRequest, vault_id: Any) -> Vault:
    """The vault, if the person owns it (all vaults, or the one their VAULT_OWNER binding names)."""
    vault = vault_get(str(vault_id))
    scope = vault_owner_scope(request.user)
    if scope is not None and str(vault.id) not in scope:
        raise Http404(f"No vault with id {vault_id}.")
    return vault


def _save_document(
    request: HttpRequest, vault: Vault, document: dict[str, Any], *, confirm_drop: bool = False
) -> list[dict[str, str]]:
    """Validate and apply a schema document; the problems, each with its path (empty: saved)."""
    try:
        spec = parse_schema(document)
    except SchemaErrors as exc:
        return exc.details
    try:
        changes = vault_schema_update(actor=actor_of(request.user), vault=vault, schema=spec, confirm_drop=confirm_drop)
    except VaultError as exc:
        problems = exc.details or [{"field": "", "message": exc.message}]
        # The service speaks to API callers (?confirm=drop); here the confirmation is a checkbox.
        return [{**p, "message": p["message"].replace("?confirm=drop", "confirming the drop")} for p in problems]
    if any(changes.values()):
        done = ", ".join(f"{key.replace('_', ' ')}: {', '.join(names)}" for key, names in changes.items() if names)
        messages.success(request, f"Schema saved ({done}).")
    else:
        messages.info(request, "Nothing changed.")
    return []


def _table_index(document: dict[str, Any], table: str) -> int:
    for index, entry in enumerate(document["tables"]):
        if entry["name"] == table:
            return index
    raise Http404(f"No table {table}.")


def _column_index(document: dict[str, Any], t_index: int, column: str) -> int:
    for index, entry in enumerate(document["tables"][t_index]["columns"]):
        if entry["name"] == column:
            return index
    raise Http404(f"No column {column}.")


def _drop_page(
    request: HttpRequest, vault: Vault, document: dict[str, Any], entries: list[Any], index: int, what: str
) -> HttpResponse:
    """Confirm and drop ``entries[index]`` (a table or a column of ``document``), then save the document."""
    form = DropForm(posted(request))
    problems: list[dict[str, str]] = []
    if request.method == "POST" and form.is_valid():
        del entries[index]
        problems = _save_document(request, vault, document, confirm_drop=form.cleaned_data["confirm_drop"])
        if not problems:
            return redirect("studio:vault_detail", vault_id=vault.id)
    for problem in problems:
        form.add_error(None, problem["message"])
    return render(
        request,
        "vaults/drop_confirm.html",
        {"title": f"Drop {what}", "form": form, "vault": vault, "what": what},
    )


# --- vaults -----------------------------------------------------------------------------------------


@studio_page(roles=[VAULT_OWNER])
def vault_list_page(request: HttpRequest) -> HttpResponse:
    scope = vault_owner_scope(request.user)
    vaults = vaults_with_counts(scope)
    return render(
        request,
        "vaults/vault_list.html",
        {"title": "Vaults", "vaults": list(vaults), "can_create": scope is None},
    )


@studio_page(roles=[VAULT_OWNER])
def vault_create_page(request: HttpRequest) -> HttpResponse:
    if vault_owner_scope(request.user) is not None:
        return forbidden(request, "Creating a vault needs a VAULT_OWNER binding that is not limited to one vault.")
    form = VaultForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            vault = vault_create(
                actor=actor_of(request.user),
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except VaultError as exc:
            form.add_error("name" if "name" in exc.message else None, exc.message)
        else:
            messages.success(request, f"Vault {vault.name} created. Add its first table.")
            return redirect("studio:vault_detail", vault_id=vault.id)
    return render(request, "vaults/vault_form.html", {"title": "New vault", "form": form})


@studio_page(roles=[VAULT_OWNER])
def vault_edit_page(request: HttpRequest, vault_id: Any) -> HttpResponse:
    vault = owned_vault(request, vault_id)
    form = VaultForm(posted(request), initial={"name": vault.name, "description": vault.description})
    if request.method == "POST" and form.is_valid():
        try:
            vault_update(
                actor=actor_of(request.user),
                vault=vault,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except VaultError as exc:
            form.add_error("name" if "name" in exc.message else None, exc.message)
        else:
            messages.success(request, "Vault saved.")
            return redirect("studio:vault_detail", vault_id=vault.id)
    return render(request, "vaults/vault_form.html", {"title": f"Edit {vault.name}", "form": form, "vault": vault})


@studio_page(roles=[VAULT_OWNER])
def vault_detail_page(request: HttpRequest, vault_id: Any) -> HttpResponse:
    vault = owned_vault(request, vault_id)
    tables = vault.tables.annotate(record_count=Count("records")).order_by("name")
    document = vault_schema(vault).as_document()
    counts = {t.name: t.record_count for t in tables}
    for table in document["tables"]:
        table["record_count"] = counts.get(table["name"], 0)
    return render(
        request,
        "vaults/vault_detail.html",
        {"title": vault.name, "vault": vault, "tables": document["tables"], "policies": vault.policies.all()},
    )


# --- the schema editor ------------------------------------------------------------------------------


@studio_page(roles=[VAULT_OWNER])
def table_add_page(request: HttpRequest, vault_id: Any) -> HttpResponse:
    vault = owned_vault(request, vault_id)
    form = TableForm(posted(request))
    if request.method == "POST" and form.is_valid():
        document = vault_schema(vault).as_document()
        name = form.cleaned_data["name"].strip()
        document["tables"].append({"name": name, "columns": []})
        problems = _save_document(request, vault, document)
        if not problems:
            return redirect("studio:column_add", vault_id=vault.id, table=name)
        attach_schema_errors(form, problems, f"tables[{len(document['tables']) - 1}]")
    return render(request, "vaults/table_form.html", {"title": "New table", "form": form, "vault": vault})


@studio_page(roles=[VAULT_OWNER])
def table_drop_page(request: HttpRequest, vault_id: Any, table: str) -> HttpResponse:
    vault = owned_vault(request, vault_id)
    document = vault_schema(vault).as_document()
    index = _table_index(document, table)
    return _drop_page(request, vault, document, document["tables"], index, f"table {table}")


def _column_page(request: HttpRequest, vault: Vault, table: str, column: str | None) -> HttpResponse:
    document = vault_schema(vault).as_document()
    t_index = _table_index(document, table)
    columns = document["tables"][t_index]["columns"]
    c_index = _column_index(document, t_index, column) if column is not None else len(columns)
    initial = ColumnForm.initial_of(columns[c_index]) if column is not None else None
    form = ColumnForm(posted(request), initial=initial)
    if column is not None:
        # The schema document names columns: a new name would drop this column and add another.
        form.fields["name"].disabled = True
        form.fields["name"].help_text = "A column keeps its name; to rename, add a new column and drop this one."
    if request.method == "POST" and form.is_valid():
        if column is None:
            columns.append(form.column_document())
        else:
            columns[c_index] = form.column_document()
        problems = _save_document(request, vault, document)
        if not problems:
            return redirect("studio:vault_detail", vault_id=vault.id)
        attach_schema_errors(form, problems, f"tables[{t_index}].columns[{c_index}]")
    title = f"{table}.{column}" if column is not None else f"New column in {table}"
    return render(
        request,
        "vaults/column_form.html",
        {"title": title, "form": form, "vault": vault, "table": table, "column": column},
    )


@studio_page(roles=[VAULT_OWNER])
def column_add_page(request: HttpRequest, vault_id: Any, table: str) -> HttpResponse:
    return _column_page(request, owned_vault(request, vault_id), table, None)


@studio_page(roles=[VAULT_OWNER])
def column_edit_page(request: HttpRequest, vault_id: Any, table: str, column: str) -> HttpResponse:
    return _column_page(request, owned_vault(request, vault_id), table, column)


@studio_page(roles=[VAULT_OWNER])
def column_drop_page(request: HttpRequest, vault_id: Any, table: str, column: str) -> HttpResponse:
    vault = owned_vault(request, vault_id)
    document = vault_schema(vault).as_document()
    t_index = _table_index(document, table)
    c_index = _column_index(document, t_index, column)
    columns = document["tables"][t_index]["columns"]
    return _drop_page(request, vault, document, columns, c_index, f"column {table}.{column}")


@studio_page(roles=[VAULT_OWNER])
def schema_document_page(request: HttpRequest, vault_id: Any) -> HttpResponse:
    """The whole schema as one JSON document (the same one ``GET/PUT /api/v1/vaults/{id}/schema`` use)."""
    import json

    vault = owned_vault(request, vault_id)
    current = json.dumps(vault_schema(vault).as_document(), indent=2)
    form = SchemaDocumentForm(posted(request), initial={"document": current})
    if request.method == "POST" and form.is_valid():
        problems = _save_document(
            request, vault, form.cleaned_data["document"], confirm_drop=form.cleaned_data["confirm_drop"]
        )
        if not problems:
            return redirect("studio:vault_detail", vault_id=vault.id)
        for problem in problems:
            where = problem.get("field")
            form.add_error("document", f"{where}: {problem['message']}" if where else problem["message"])
    return render(
        request,
        "vaults/schema_document.html",
        {"title": f"{vault.name}: schema document", "form": form, "vault": vault},
    )
