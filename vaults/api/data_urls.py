"""Data-plane routes under /v1/vaults/ (SKYFLOW_WIRE.md §2–4). Path segments arrive raw from the SDKs."""

from django.urls import path

from . import data_views as views

urlpatterns = [
    path("<str:vault_id>", views.BatchView.as_view(), name="data-batch"),
    path("<str:vault_id>/detokenize", views.DetokenizeView.as_view(), name="data-detokenize"),
    path("<str:vault_id>/tokenize", views.TokenizeView.as_view(), name="data-tokenize"),
    path("<str:vault_id>/query", views.QueryView.as_view(), name="data-query"),
    path("<str:vault_id>/<str:table>", views.TableView.as_view(), name="data-table"),
    path("<str:vault_id>/<str:table>/<str:record_id>", views.RecordView.as_view(), name="data-record"),
]
