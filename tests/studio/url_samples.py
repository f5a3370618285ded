"""Every URL of the ``studio`` namespace, found from the URL resolver (so pages added later are
covered without touching these tests), with path parameters filled from demo objects.

``studio_urls(samples)`` yields ``(name, url)`` for every pattern; ``demo_samples(tmp_path, viewer)``
seeds the demo (vault, table, records, policies, roles, service accounts with keys) plus a group,
a role binding, a device and a session of ``viewer``, and returns the values to fill parameters with.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

from django.core.management import call_command
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse


def studio_patterns() -> list[tuple[str, dict[str, Any]]]:
    """``(full name, {parameter: converter})`` for each named pattern under the studio namespace."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(patterns: list[Any], namespaces: list[str], converters: dict[str, Any]) -> None:
        for entry in patterns:
            here = {**converters, **getattr(entry.pattern, "converters", {})}
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, namespaces + ([entry.namespace] if entry.namespace else []), here)
            elif isinstance(entry, URLPattern) and entry.name and namespaces[:1] == ["studio"]:
                found.append((":".join([*namespaces, entry.name]), here))

    walk(get_resolver().url_patterns, [], {})
    unique = {name: conv for name, conv in found}  # a name reversed twice is one URL
    return sorted(unique.items())


def demo_samples(tmp_path: Any, viewer: Any) -> dict[str, list[Any]]:
    """Seed the demo and return candidate values per kind of identifier."""
    from accounts.models import Group, ServiceAccount, ServiceAccountKey, TOTPDevice, UserSession
    from audit.models import AuditEvent
    from policies.models import Policy, PolicyVersion, Role, RoleBinding
    from vaults.models import Record, Table, Token, Vault

    call_command("demo", out=str(tmp_path), verbosity=0)
    vault = Vault.objects.get(name="demo")
    table = Table.objects.filter(vault=vault).first()
    record = Record.objects.filter(table=table).first() if table else None
    token = Token.objects.first()
    policy = Policy.objects.filter(vault=vault).first()
    version = PolicyVersion.objects.filter(policy=policy).order_by("version").first() if policy else None
    role = Role.objects.filter(name="demo-plain").first()
    account = ServiceAccount.objects.filter(name="demo-plain").first()
    key = ServiceAccountKey.objects.filter(service_account=account).first()
    group, _ = Group.objects.get_or_create(name="demo-analysts")
    binding = RoleBinding.objects.filter(role=role).first()
    device = TOTPDevice.objects.filter(user=viewer).first()
    session = UserSession.objects.filter(user=viewer).first()
    event = AuditEvent.objects.order_by("-seq").first()

    def ids(*objects: Any, attrs: tuple[str, ...] = ("pk",)) -> list[Any]:
        return [getattr(o, a) for o in objects if o is not None for a in attrs]

    return {
        "record": ids(record),
        "token": ids(token, attrs=("token",)),
        "version": [getattr(version, "version", 1), 1],
        "column": ["email"],
        "table": ids(table, attrs=("name", "pk")),
        "vault": ids(vault, attrs=("pk", "name")),
        "polic": ids(policy),
        "binding": ids(binding),
        "role": ids(role, attrs=("pk", "name")),
        "key": ids(key, attrs=("key_id",)),
        "service": ids(account, attrs=("pk", "client_id")),
        "account": ids(account, attrs=("pk", "client_id")),
        "sa": ids(account, attrs=("pk", "client_id")),
        "client": ids(account, attrs=("client_id",)),
        "group": ids(group),
        "user": ids(viewer),
        "person": ids(viewer),
        "member": ids(viewer),
        "session": ids(session),
        "device": ids(device),
        "kind": ["totp"],
        "seq": ids(event, attrs=("seq",)),
        "event": ids(event, attrs=("seq", "event_id")),
    }


_FALLBACK = {"IntConverter": [1], "UUIDConverter": [uuid.uuid4()], "SlugConverter": ["sample"]}


def _candidates(param: str, url_name: str, converter: Any, samples: dict[str, list[Any]]) -> list[Any]:
    hint = (url_name if param.lower() in ("id", "pk", "uuid", "name") else param).lower().replace("-", "_")
    values: list[Any] = []
    for word, options in samples.items():  # the dict's order puts the specific words first
        if word in hint:
            values += options
    return values + _FALLBACK.get(type(converter).__name__, ["sample"])


def studio_urls(samples: dict[str, list[Any]]) -> Iterator[tuple[str, str, bool]]:
    """``(name, url, has_parameters)`` for every studio pattern."""
    for name, converters in studio_patterns():
        if not converters:
            yield name, reverse(name), False
            continue
        kwargs: dict[str, Any] = {}
        for param, converter in converters.items():
            for value in _candidates(param, name.rsplit(":", 1)[-1], converter, samples):
                if re.fullmatch(converter.regex, str(value)):
                    kwargs[param] = value
                    break
        try:
            yield name, reverse(name, kwargs=kwargs), True
        except NoReverseMatch as exc:  # pragma: no cover - a converter no sample fits
            raise AssertionError(f"no sample value fits {name} {converters}: {exc}") from exc
