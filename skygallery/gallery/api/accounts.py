"""/api/v1/tokens: the caller's own API tokens."""
from __future__ import annotations

from ninja import Status, Router, Schema
from pydantic import Field

from ..services import accounts as svc
from ..services.timing import isot
from .auth import WRITE_AUTH

router = Router(tags=["accounts"], auth=WRITE_AUTH)


class TokenIn(Schema):
    name: str = Field("api", max_length=100)
    days: int | None = Field(None, ge=1, le=3650)


def token_dict(t) -> dict:
    return {"id": t.pk, "name": t.name, "prefix": t.prefix, "created_at": isot(t.created_at),
            "expires_at": isot(t.expires_at), "last_used_at": isot(t.last_used_at), "revoked": t.revoked_at is not None}


@router.get("", summary="My API tokens")
def my_tokens(request):
    return [token_dict(t) for t in request.auth.api_tokens.all()]


@router.post("", response={201: dict}, summary="Create an API token (its text is shown once)")
def create(request, data: TokenIn):
    token, clear = svc.create_token(request.auth, data.name, data.days)
    return Status(201, {**token_dict(token), "token": clear})


@router.delete("/{token_id}", summary="Revoke one of my API tokens")
def revoke(request, token_id: int):
    return token_dict(svc.revoke_token(request.auth, token_id))
