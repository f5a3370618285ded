"""Studio URLs of vaults (mounted under /studio/ by vaultstudio.studio.site)."""

from __future__ import annotations

from typing import Any

from django.urls import path

from . import browser, views

urlpatterns: list[Any] = [
    path("vaults/", views.vault_list_page, name="vaults"),
    path("vaults/new/", views.vault_create_page, name="vault_create"),
    path("vaults/<uuid:vault_id>/", views.vault_detail_page, name="vault_detail"),
    path("vaults/<uuid:vault_id>/edit/", views.vault_edit_page, name="vault_edit"),
    path("vaults/<uuid:vault_id>/schema/", views.schema_document_page, name="schema_document"),
    path("vaults/<uuid:vault_id>/tables/new/", views.table_add_page, name="table_add"),
    path("vaults/<uuid:vault_id>/tables/<slug:table>/drop/", views.table_drop_page, name="table_drop"),
    path("vaults/<uuid:vault_id>/tables/<slug:table>/columns/new/", views.column_add_page, name="column_add"),
    path(
        "vaults/<uuid:vault_id>/tables/<slug:table>/columns/<slug:column>/",
        views.column_edit_page,
        name="column_edit",
    ),
    path(
        "vaults/<uuid:vault_id>/tables/<slug:table>/columns/<slug:column>/drop/",
        views.column_drop_page,
        name="column_drop",
    ),
    path("records/", browser.records_index_page, name="records"),
    path("records/<uuid:vault_id>/detokenize/", browser.detokenize_page, name="detokenize"),
    path("records/<uuid:vault_id>/<slug:table>/", browser.table_records_page, name="table_records"),
    path(
        "records/<uuid:vault_id>/<slug:table>/<str:record_id>/reveal/",
        browser.record_reveal_page,
        name="record_reveal",
    ),
]
