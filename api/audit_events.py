"""``GET /api/v1/audit-events``: the practice's audit trail (docs/api.md).

The trail is accounts' (``accounts.models.AuditEvent``), which sits below the API plumbing and so cannot hold
an endpoint; this one is here. Tenancy is ``ApiView``'s: an API key reads its practice's trail, a signed-in
owner or admin their practice's; a clinician reads none (403).
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import AuditEvent, AuditEventQuerySet, User
from accounts.tenancy import practice_ids_seen_whole_by
from api.authentication import api_key_of
from api.errors import ApiError
from api.schema import error_responses
from api.views import ApiCursorPagination, ApiView, paginate


class AuditActorSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(
        choices=["user", "api_key", "system"], help_text="A member, an API key, or the system (a worker, a command)."
    )
    id = serializers.UUIDField(allow_null=True, help_text="The user's or the API key's id.")
    # A field named like Field.label: DRF's metaclass takes it off the class, so it shadows nothing at run time.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="The account's email or the key's prefix at the time."
    )


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    actor = serializers.SerializerMethodField()
    occurred_at = serializers.DateTimeField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "action",
            "outcome",
            "object_type",
            "object_id",
            "session_id",
            "actor",
            "ip",
            "request_id",
            "status_code",
            "detail",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "object_id": {"help_text": "The object's id; empty for a list or a create."},
            "session_id": {"help_text": "The clinical session the object belongs to, when it belongs to one."},
            "status_code": {"help_text": "The HTTP status of the request, for events of a request."},
            "detail": {"help_text": "Context that is not PHI: a role change, a provider, staff's reason."},
        }

    @extend_schema_field(AuditActorSerializer)
    def get_actor(self, event: AuditEvent) -> dict[str, Any]:
        return {
            "type": event.actor_kind,
            "id": event.actor_api_key_id or event.actor_user_id,
            "label": event.actor_label,
        }


class AuditEventFilterSerializer(serializers.Serializer[Any]):
    object_type = serializers.ChoiceField(choices=AuditEvent.ObjectType.choices, required=False)
    object_id = serializers.CharField(
        required=False,
        max_length=64,
        help_text="With `object_type=session`, also the events about the session's note, recording, transcript "
        "and runs.",
    )
    actor = serializers.UUIDField(required=False, help_text="A user's id, or an API key's.")
    action = serializers.ChoiceField(choices=AuditEvent.Action.choices, required=False)
    since = serializers.DateTimeField(required=False, help_text="Events at or after this moment.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "object_id" in attrs and "object_type" not in attrs:
            raise serializers.ValidationError({"object_type": ["Give the object's type with its id."]})
        return attrs


class AuditEventPagination(ApiCursorPagination):
    # Ids grow with time and are unique: a stable order, newest first.
    ordering = "-id"


class AuditEventList(ApiView):
    pagination_class = AuditEventPagination

    def model_queryset(self) -> QuerySet[Any]:
        return AuditEvent.objects.all()

    @extend_schema(
        operation_id="audit_events_list",
        summary="List the practice's audit events",
        description=(
            "Who opened, changed, exported or sent what, and the practice's security events, newest first. "
            "Objects are named by type and id, never by their content. For owners' and admins' sessions and for "
            "API keys."
        ),
        parameters=[AuditEventFilterSerializer],
        responses={200: AuditEventSerializer(many=True), **error_responses(400, 403)},
    )
    def get(self, request: Request) -> Response:
        if api_key_of(request) is None:
            user = request.user
            if not isinstance(user, User) or not practice_ids_seen_whole_by(user).exists():
                raise ApiError(
                    status_code=403,
                    code="permission_denied",
                    message="Only the practice's owners and admins read its audit trail.",
                )
        filters = AuditEventFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        events = cast(AuditEventQuerySet, self.get_queryset())
        if "object_id" in wanted:
            events = events.about(wanted["object_type"], wanted["object_id"])
        elif "object_type" in wanted:
            events = events.filter(object_type=wanted["object_type"])
        if "actor" in wanted:
            events = events.by_actor(wanted["actor"])
        if "action" in wanted:
            events = events.filter(action=wanted["action"])
        if "since" in wanted:
            events = events.filter(occurred_at__gte=wanted["since"])
        response = paginate(self, events, AuditEventSerializer)
        response["Cache-Control"] = "no-store"
        return response
