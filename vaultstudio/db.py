"""Small database helpers shared by the services."""

from __future__ import annotations

from django.db import IntegrityError, models, transaction

from .errors import Conflict


def save_unique(instance: models.Model, conflict_message: str) -> None:
    """Save, turning a unique-constraint violation of *this* save into a 409.

    Only the save runs in the savepoint: an IntegrityError raised later in the same transaction (an
    audit append refused by the database, say) must stay a failure, not pose as a duplicate name.
    """
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise Conflict(conflict_message) from exc
