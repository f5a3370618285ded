"""Management API views for policies (DESIGN.md §5, §15): create, change, validate, version, roll back.

Thin interfaces over ``policies.services``, which compile the text against the vault's schema, keep
every version, audit and bump the policy version key. Every view needs the built-in VAULT_OWNER
role; an owner whose binding names one vault sees only that vault's policies — another vault's
policy answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.principals import actor_of
from policies.models import Policy, PolicyVersion
from policies.permissions import IsVaultOwner
from policies.selectors import vault_owner_scope
from policies.services import policy_create, policy_delete, policy_rollback, policy_update, policy_validate
from vaults.models import Vault
from vaults.selectors import vault_get
from vaultstudio.api import ManagementView, error_responses, parsed, path_id
from vaultstudio.errors import BadRequest, NotFound
from vaultstudio.inputs import parse_uuid

from .policy_serializers import (
    PolicyCreateSerializer,
    PolicyDiffSerializer,
    PolicySerializer,
    PolicyUpdateSerializer,
    PolicyValidateSerializer,
    PolicyValidationSerializer,
    PolicyVersionSerializer,
)
from .serializers import DeletedSerializer

_TAGS = ["policies"]
_POLICY_ID = path_id("id", "The policy's id.")
_VERSION = OpenApiParameter("version", OpenApiTypes.INT, OpenApiParameter.PATH, description="A version number.")


class PolicyOwnerView(ManagementView):
    """VAULT_OWNER only; reads narrowed to the vaults the caller owns."""

    permission_classes = [IsVaultOwner]

    def scope(self, request: Request) -> set[str] | None:
        return vault_owner_scope(request.user)

    def policies(self, request: Request) -> QuerySet[Policy]:
        scope = self.scope(request)
        policies = Policy.objects.all()
        return policies if scope is None else policies.filter(vault_id__in=list(scope))

    def owned_policy(self, request: Request, policy_id: str) -> Policy:
        uid = parse_uuid(policy_id)
        policy = self.policies(request).select_related("vault").filter(pk=uid).first() if uid else None
        if policy is None:
            raise NotFound(f"No policy with id {policy_id}.")
        return policy

    def owned_vault(self, request: Request, vault_id: Any) -> Vault:
        """The vault a request names in its body or query; a 400 about ``vault`` when it is not yours."""
        message = f"No vault with id {vault_id}."
        try:
            vault = vault_get(str(vault_id))
        except NotFound:
            vault = None
        scope = self.scope(request)
        if vault is None or (scope is not None and str(vault.id) not in scope):
            raise BadRequest(message, details=[{"field": "vault", "message": message}])
        return vault


class PolicyListView(PolicyOwnerView):
    """GET/POST /api/v1/policies/ — the policies of the vaults you own; create one."""

    serializer_class = PolicySerializer

    @extend_schema(
        tags=_TAGS,
        summary="List policies",
        parameters=[
            OpenApiParameter("vault", OpenApiTypes.UUID, OpenApiParameter.QUERY, description="Only this vault's."),
        ],
        responses={200: PolicySerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        policies = self.policies(request)
        vault_id = request.query_params.get("vault")
        if vault_id:
            policies = policies.filter(vault=self.owned_vault(request, vault_id))
        return self.paginated(policies, PolicySerializer)

    @extend_schema(
        tags=_TAGS,
        summary="Create a policy",
        description=(
            "The text is compiled against the vault's schema. A text with errors is refused with every error "
            "in `details`, each with its `line` and `column`, and nothing is saved."
        ),
        request=PolicyCreateSerializer,
        responses={201: PolicySerializer, **error_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        body = parsed(PolicyCreateSerializer, request)
        policy = policy_create(
            actor=actor_of(request.user),
            vault=self.owned_vault(request, body["vault"]),
            name=body["name"],
            source=body["source"],
            status=body["status"],
        )
        return Response(PolicySerializer(policy).data, status=201)


class PolicyValidateView(PolicyOwnerView):
    """POST /api/v1/policies/validate — check a text against a vault's schema without saving it."""

    serializer_class = PolicyValidationSerializer

    @extend_schema(
        tags=_TAGS,
        summary="Validate a policy text",
        description="Always 200 with the result when the request itself is well-formed: `valid` is false and "
        "`details` lists every error (line, column, message) when the text does not compile.",
        request=PolicyValidateSerializer,
        responses={200: PolicyValidationSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        body = parsed(PolicyValidateSerializer, request)
        errors = policy_validate(vault=self.owned_vault(request, body["vault"]), source=body["source"])
        return Response({"valid": not errors, "details": errors})


class PolicyDetailView(PolicyOwnerView):
    """GET/PATCH/DELETE /api/v1/policies/{id}/."""

    serializer_class = PolicySerializer

    @extend_schema(
        tags=_TAGS,
        summary="Get a policy",
        parameters=[_POLICY_ID],
        responses={200: PolicySerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(PolicySerializer(self.owned_policy(request, id)).data)

    @extend_schema(
        tags=_TAGS,
        summary="Change a policy's name, text or status",
        description="A real change makes a new version; a request that changes nothing makes none. New text is "
        "compiled against the vault's schema and refused, with every error, if it does not compile.",
        parameters=[_POLICY_ID],
        request=PolicyUpdateSerializer,
        responses={200: PolicySerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, id: str) -> Response:
        policy = self.owned_policy(request, id)
        body = parsed(PolicyUpdateSerializer, request)
        policy = policy_update(
            actor=actor_of(request.user),
            policy=policy,
            name=body.get("name"),
            source=body.get("source"),
            status=body.get("status"),
        )
        return Response(PolicySerializer(policy).data)

    @extend_schema(
        tags=_TAGS,
        summary="Delete a policy and its versions",
        description="Roles that carried the policy stop granting what it allowed.",
        parameters=[_POLICY_ID],
        responses={200: DeletedSerializer, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, id: str) -> Response:
        policy = self.owned_policy(request, id)
        policy_id = str(policy.id)
        policy_delete(actor=actor_of(request.user), policy=policy)
        return Response({"deleted": True, "id": policy_id})


class PolicyVersionListView(PolicyOwnerView):
    """GET /api/v1/policies/{id}/versions/ — every saved version, newest first."""

    serializer_class = PolicyVersionSerializer

    @extend_schema(
        tags=_TAGS,
        summary="List a policy's versions, newest first",
        parameters=[_POLICY_ID],
        responses={200: PolicyVersionSerializer(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, id: str) -> Response:
        policy = self.owned_policy(request, id)
        return self.paginated(PolicyVersion.objects.filter(policy=policy).order_by("-version"), PolicyVersionSerializer)


class PolicyRollbackView(PolicyOwnerView):
    """POST /api/v1/policies/{id}/versions/{version}/rollback — that version's text as a new version."""

    serializer_class = PolicySerializer

    @extend_schema(
        tags=_TAGS,
        summary="Roll a policy's text back to an earlier version",
        description="Makes a new version whose text is that version's, compiled against the vault's schema as it "
        "is today (a text that no longer compiles is a 400 listing its errors). Name and status stay as they are.",
        parameters=[_POLICY_ID, _VERSION],
        request=None,
        responses={200: PolicySerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request, id: str, version: int) -> Response:
        policy = policy_rollback(actor=actor_of(request.user), policy=self.owned_policy(request, id), version=version)
        return Response(PolicySerializer(policy).data)


def unified_diff(policy_name: str, old: PolicyVersion | None, new: PolicyVersion) -> str:
    """A unified diff of two versions' texts (``old`` None: the empty text)."""
    old_lines = old.source.splitlines() if old is not None else []
    old_label = f"{policy_name}@v{old.version}" if old is not None else "/dev/null"
    lines = difflib.unified_diff(
        old_lines, new.source.splitlines(), fromfile=old_label, tofile=f"{policy_name}@v{new.version}", lineterm=""
    )
    return "\n".join(lines)


def _against(request: Request, version: int) -> int:
    """The ``against`` query parameter: the version before ``version`` when absent."""
    raw = request.query_params.get("against")
    if raw is None or raw == "":
        return max(version - 1, 0)
    try:
        against = int(raw)
    except ValueError:
        against = -1
    if against < 0:
        raise BadRequest(f"against must be a version number (0 for the empty text); got {raw!r}.")
    return against


class PolicyDiffView(PolicyOwnerView):
    """GET /api/v1/policies/{id}/versions/{version}/diff?against=N — what changed between two versions."""

    serializer_class = PolicyDiffSerializer

    @extend_schema(
        tags=_TAGS,
        summary="Diff a version's text against another version",
        parameters=[
            _POLICY_ID,
            _VERSION,
            OpenApiParameter(
                "against",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                description="The version to compare with (default: the one before; 0 is the empty text).",
            ),
        ],
        responses={200: PolicyDiffSerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, id: str, version: int) -> Response:
        policy = self.owned_policy(request, id)
        against = _against(request, version)
        found = {v.version: v for v in PolicyVersion.objects.filter(policy=policy, version__in=[version, against])}
        # Version 0 stands for the empty text, and only on the `against` side.
        for wanted, missing in ((version, version not in found), (against, against != 0 and against not in found)):
            if missing:
                raise NotFound(f"Policy {policy.name} has no version {wanted}; its versions are 1 to {policy.version}.")
        return Response(
            {
                "policy": str(policy.id),
                "version": version,
                "against": against,
                "diff": unified_diff(policy.name, found.get(against), found[version]),
            }
        )
