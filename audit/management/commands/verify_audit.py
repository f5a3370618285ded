"""``manage.py verify_audit``: re-verify the audit hash chain; exit status 0 when intact, 1 when broken."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import audit_verify, verify_result_dict


class Command(BaseCommand):
    help = (
        "Re-verify every audit event's link and hash from the first one, and the chain head. Prints the "
        "result; exits 0 when the chain is intact and 1, naming the first bad seq, when it is broken. "
        "Read-only: it writes no event (the API's verify and the periodic job record theirs)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the result as one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_verify()
        if options["json"]:
            self.stdout.write(json.dumps(verify_result_dict(result)))
        if result.valid:
            if not options["json"]:
                self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {result.checked} events verified."))
            return
        # CommandError's returncode is the process's exit status when run from manage.py.
        raise CommandError(
            f"Audit chain BROKEN at seq {result.first_bad_seq}: {result.reason}. "
            f"{result.checked} events verified before it. Restore the audit table from a backup and "
            "investigate who could write to the database.",
            returncode=1,
        )
