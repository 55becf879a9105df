"""MMODA-style tokens: HS256 JWTs signed with the site's secret key, as the ``oda_api`` client sends them.

Claims: ``sub`` (the user's e-mail), ``name``, ``roles`` (a comma string or a list) and ``exp``. The user with
that e-mail is created on first use; the role ``gallery contributor`` makes them (at least) a contributor.
The refusal messages are those of the MMODA dispatcher, which its clients show to their users.
"""
from __future__ import annotations

import re
import time

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError

from ..errors import Forbidden, InvalidInput
from .accounts import TOKEN_PREFIX, create_user, role_of, set_role

ALGORITHM = "HS256"
CONTRIBUTOR_ROLE = "gallery contributor"
MISSING = "A token must be provided."
EXPIRED = "The token provided is expired."
INVALID = "The token provided is not valid."


def looks_like_jwt(token: str) -> bool:
    return bool(token) and not token.startswith(TOKEN_PREFIX) and token.count(".") == 2


def token_roles(claims: dict) -> list[str]:
    """The roles of a decoded token (a comma string or a list in the ``roles`` claim)."""
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = roles.split(",")
    if not isinstance(roles, list):
        return []
    return [str(r).strip() for r in roles if str(r).strip()]


def _checked_email(email: str, field: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput((field, f"{email!r} is not an e-mail address")) from None
    return email


def mint_jwt(email: str, roles: list[str], days: float, name: str = "") -> str:
    """A token for ``email`` with ``roles``, valid for ``days``; the oda_api client accepts it as ODA_TOKEN."""
    email = _checked_email(email, "email")
    if not days > 0:
        raise InvalidInput(("days", "must be a positive number of days"))
    now = int(time.time())
    payload = {"sub": email, "email": email, "name": name or email.split("@")[0],
               "roles": ", ".join(r.strip() for r in roles if r.strip()), "iat": now, "exp": now + int(days * 86400)}
    return jwt.encode(payload, settings.SECRET_KEY, algorithm=ALGORITHM)


def decode_jwt(token: str | None) -> dict:
    """The verified claims of ``token``; Forbidden with the dispatcher's message when it is missing or bad."""
    if not token:
        raise Forbidden(MISSING)
    try:
        claims = jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Forbidden(EXPIRED) from None
    except jwt.InvalidTokenError:
        raise Forbidden(INVALID) from None
    try:
        _checked_email(str(claims["sub"]), "sub")
    except InvalidInput:
        raise Forbidden(INVALID) from None
    return claims


def _username(email: str) -> str:
    User = get_user_model()
    base = re.sub(r"[^\w.@+-]", "_", email)[:140]
    name, n = base, 1
    while User.objects.filter(username=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _user_with_email(email: str):
    return get_user_model().objects.filter(email__iexact=email).order_by("id").first()


def user_for_claims(claims: dict):
    """The user a token stands for (created on first use); a contributor token upgrades a reader."""
    email = str(claims["sub"]).strip()
    contributor = CONTRIBUTOR_ROLE in token_roles(claims)
    user = _user_with_email(email)
    if user is None:
        try:
            user = create_user(_username(email), None, email, "contributor" if contributor else "reader")
        except (IntegrityError, InvalidInput):  # created meanwhile by a concurrent request
            user = _user_with_email(email)
            if user is None:
                raise
    if not user.is_active:
        raise Forbidden(INVALID)
    if contributor and role_of(user) == "reader":
        set_role(user, "contributor")
    return user


def jwt_user(token: str):
    """(user, roles) of a valid token; Forbidden otherwise."""
    claims = decode_jwt(token)
    return user_for_claims(claims), token_roles(claims)
