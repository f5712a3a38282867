"""Cross-cutting API machinery: token scopes, pagination, and errors as 4xx with field errors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, pagination, permissions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.response import Response

from portal.exceptions import ApplicationError


class ScopedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, loading the token's scope in the same query."""

    def authenticate_credentials(self, key: str):
        try:
            token = Token.objects.select_related("user", "scope").get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token


class ReadOnlyTokenPermission(permissions.BasePermission):
    """A read-only token may only read, whatever its user could do."""

    message = "This API token is read-only."

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS or not isinstance(request.auth, Token):
            return True
        scope = getattr(request.auth, "scope", None)
        return not (scope is not None and scope.read_only)


class StrictFilterBackend(DjangoFilterBackend):
    """The API's filters: a filter given with an empty value is a 400, not "no filter".

    The list pages share the FilterSets but send blanks for "any", so this lives in the API only.
    """

    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        filterset_class = self.get_filterset_class(view, queryset)
        blank = [
            name
            for name in (filterset_class.base_filters if filterset_class else {})
            if name in request.query_params and not request.query_params.get(name, "").strip()
        ]
        if blank:
            raise exceptions.ValidationError(
                {name: ["This value may not be blank."] for name in blank}
            )
        return kwargs


class Pagination(pagination.PageNumberPagination):
    """Page-number paging; a malformed ``page_size`` is a 400, not silently the default."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        return self._whole_number(
            request, self.page_size_query_param, self.page_size, self.max_page_size
        )

    def paginate_queryset(self, queryset, request, view=None):
        # Validated only; DRF reads it again. Past the last page stays DRF's 404 "Invalid page".
        self._whole_number(request, self.page_query_param, 1, None)
        return super().paginate_queryset(queryset, request, view)

    @staticmethod
    def _whole_number(request, name: str, default: int, maximum: int | None) -> int:
        values = request.query_params.getlist(name)
        if not values:
            return default
        value = values[0]
        if (
            len(values) > 1
            or not value.isdigit()
            or int(value) < 1
            or (maximum is not None and int(value) > maximum)
        ):
            bound = f" to {maximum}" if maximum is not None else " or more"
            raise exceptions.ValidationError({name: [f"A whole number from 1{bound}."]})
        return int(value)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters


def exception_handler(exc, context):
    """DRF's handler, plus the domain's errors: never a 500 for a request's content."""
    # Imported here: rest_framework.views imports this module through the DRF settings.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, ApplicationError):
        body = {"detail": exc.message, **exc.extra}
        return Response(body, status=exc.status_code)
    elif isinstance(exc, ProtectedError):
        return Response({"detail": "Other records still refer to this one."}, status=409)
    return drf_exception_handler(exc, context)
