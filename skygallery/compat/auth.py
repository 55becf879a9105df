"""Who calls a dispatcher endpoint: the ``token`` field (or ``Authorization: Bearer``), checked as MMODA does.

Writes need the role ``gallery contributor``; reads are open, but a token that is sent must be valid.
Our own API tokens are accepted too: a contributor's (or admin's) counts as ``gallery contributor``.
"""
from __future__ import annotations

from skygallery.gallery.errors import Forbidden
from skygallery.gallery.services.accounts import TOKEN_PREFIX, is_contributor, role_of, user_for_token
from skygallery.gallery.services.jwt_tokens import CONTRIBUTOR_ROLE, INVALID, MISSING, jwt_user


def request_token(request) -> str | None:
    token = (request.POST.get("token") if request.method == "POST" else None) or request.GET.get("token")
    header = request.headers.get("Authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:]
    return (token or "").strip() or None


def _user_and_roles(token: str):
    if token.startswith(TOKEN_PREFIX):
        user = user_for_token(token)
        if user is None:
            raise Forbidden(INVALID)
        return user, [CONTRIBUTOR_ROLE] if is_contributor(user) else [role_of(user)]
    return jwt_user(token)


def authorise(request, action: str, write: bool):
    """The calling user (None for an anonymous read); Forbidden with the dispatcher's messages otherwise."""
    token = request_token(request)
    if token is None:
        if write:
            raise Forbidden(MISSING)
        return None
    user, roles = _user_and_roles(token)
    if write and CONTRIBUTOR_ROLE not in roles:
        raise Forbidden(f"Unfortunately, your privileges are not sufficient to {action}.\n"
                        f"Your privilege roles include {roles}, but the following roles are missing: "
                        f"{CONTRIBUTOR_ROLE}.")
    return user
