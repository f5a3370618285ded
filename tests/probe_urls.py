"""The real URL map plus three probe endpoints, for tests of authentication and error plumbing."""

from django.core.exceptions import PermissionDenied
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from vaultstudio.urls import urlpatterns as real_urlpatterns


class WhoAmI(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        account = request.user.service_account
        return Response(
            {"client_id": str(account.client_id), "roles": request.user.narrowed_roles, "ctx": request.user.context}
        )


class Boom(APIView):
    permission_classes: list = []
    authentication_classes: list = []

    def get(self, request):
        raise RuntimeError("kaboom: a secret detail that must not reach the caller")


class Deny(APIView):
    permission_classes: list = []
    authentication_classes: list = []

    def get(self, request):
        raise PermissionDenied("no")


def plain_django_boom(request):
    raise RuntimeError("kaboom in a plain Django view")


urlpatterns = [
    path("api/v1/_probe/whoami", WhoAmI.as_view()),
    path("api/v1/_probe/boom", Boom.as_view()),
    path("api/v1/_probe/deny", Deny.as_view()),
    path("api/v1/_probe/plain-boom", plain_django_boom),
    *real_urlpatterns,
]
