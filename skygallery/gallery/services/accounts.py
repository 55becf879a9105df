"""Roles (as groups) and personal API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from ..errors import Forbidden, InvalidInput, NotFound
from ..models import ApiToken

ROLES = ("reader", "contributor", "admin")
TOKEN_PREFIX = "sg_"


def role_of(user) -> str:
    if user is None or not user.is_authenticated:
        return "anonymous"
    names = set(user.groups.values_list("name", flat=True))
    if user.is_superuser or "admin" in names:
        return "admin"
    if "contributor" in names:
        return "contributor"
    return "reader"


def is_contributor(user) -> bool:
    return role_of(user) in ("contributor", "admin")


@transaction.atomic
def acting_user(username: str | None):
    """The user that local writes (CLI, pipeline) are made as: the active contributor ``username``,
    or without one the first active admin. NotFound / Forbidden name the ``as-user`` field."""
    from django.db.models import Q
    users = get_user_model().objects.filter(is_active=True)
    if username:
        user = users.filter(username=username).first()
        if user is None:
            raise NotFound(f"as-user: no active user named {username!r}")
        if not is_contributor(user):
            raise Forbidden(f"as-user: {username!r} is a reader; writing needs the contributor role")
        return user
    user = users.filter(Q(is_superuser=True) | Q(groups__name="admin")).order_by("pk").first()
    if user is None:
        raise NotFound("as-user: no admin user; create one (skygallery user create NAME --role admin) "
                       "or name a contributor (--as-user)")
    return user


def set_role(user, role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(("role", f"unknown role {role!r}; one of {', '.join(ROLES)}"))
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    user.is_staff = role == "admin"
    user.is_superuser = role == "admin"
    user.save(update_fields=["is_staff", "is_superuser"])


@transaction.atomic
def create_user(username: str, password: str | None, email: str = "", role: str = "reader"):
    User = get_user_model()
    if not username or len(username) > 150:
        raise InvalidInput(("username", "1 to 150 characters"))
    if User.objects.filter(username=username).exists():
        raise InvalidInput(("username", f"user {username!r} exists already"))
    user = User.objects.create_user(username=username, email=email, password=password)
    if password is None:
        user.set_unusable_password()
        user.save()
    set_role(user, role)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user, name: str = "api", days: int | None = None) -> tuple[ApiToken, str]:
    """Create a token; the clear text is returned once and never stored."""
    if days is not None and days <= 0:
        raise InvalidInput(("days", "must be a positive number of days"))
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=(name or "api")[:100], prefix=clear[:10], digest=_digest(clear),
                                    expires_at=timezone.now() + timedelta(days=days) if days else None)
    return token, clear


def revoke_token(user, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound(f"no active token {token_id} of {user.username}")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


def user_for_token(clear: str):
    """The active user owning ``clear``, or None."""
    if not clear or not clear.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(digest=_digest(clear), revoked_at__isnull=True).first()
    if token is None or (token.expires_at and token.expires_at < timezone.now()) or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
