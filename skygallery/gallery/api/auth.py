"""Authentication for the API: ``Authorization: Bearer <token>`` or the browser session (with CSRF)."""
from __future__ import annotations

from ninja.security import HttpBearer, SessionAuth

from ..errors import Forbidden
from ..services.accounts import is_contributor, user_for_token
from ..services.jwt_tokens import CONTRIBUTOR_ROLE, jwt_user, looks_like_jwt


def bearer_user(request, token: str):
    """The user of a personal API token or of one of our JWTs (whose roles are kept on the request), or None."""
    if looks_like_jwt(token):
        try:
            user, roles = jwt_user(token)
        except Forbidden:
            return None
        request.jwt_roles = roles
        return user
    return user_for_token(token)


class TokenAuth(HttpBearer):
    openapi_description = ("A personal API token (`skygallery token create` or the 'My tokens' page), "
                           "or a JWT of `skygallery token create --email`")

    def authenticate(self, request, token):
        user = bearer_user(request, token)
        if user is not None:
            request.user = user
        return user


class BrowserSessionAuth(SessionAuth):
    """The signed-in browser session, with Django's CSRF check. A request without a session is simply
    not authenticated by it (401 from the API), rather than failing the CSRF check (403)."""

    def _get_key(self, request):
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)


token_auth = TokenAuth()
WRITE_AUTH = [token_auth, BrowserSessionAuth()]


def optional_user(request):
    """The caller of a read endpoint: token user, session user or None (anonymous)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        user = bearer_user(request, header[7:].strip())
        if user is not None:
            return user
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def require_contributor(request):
    user = request.auth
    roles = getattr(request, "jwt_roles", None)  # a JWT grants no more than its roles
    if not is_contributor(user) or (roles is not None and CONTRIBUTOR_ROLE not in roles):
        raise Forbidden("this operation needs the contributor role")
    return user
