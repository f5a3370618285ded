"""The Celery app, configured from Django settings (``CELERY_*``); tasks live in each app's tasks.py."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaultstudio.settings")

app = Celery("vaultstudio")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_configure.connect
def _prepare_filesystem_broker(sender: Celery, **_: object) -> None:
    """kombu's filesystem transport needs its folders to exist before the first message."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


app.autodiscover_tasks()
