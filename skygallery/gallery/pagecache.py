"""Whole-page cache for anonymous visitors, invalidated by every write to the gallery.

Every save or delete of a gallery model replaces the cache's *generation* token once its
transaction commits; cached pages are keyed by (generation, URL), so a write makes every older
page unreachable at once, in every server process (the default cache is file-based under
SKYGALLERY_HOME). Signed-in users always get fresh pages (they show their name and actions).
"""
from __future__ import annotations

import hashlib
import uuid
from functools import wraps

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse

GENERATION_KEY = "skygallery:generation"
PAGE_TTL_S = 24 * 3600


def generation() -> str:
    value = cache.get(GENERATION_KEY)
    if value is None:
        value = uuid.uuid4().hex
        cache.add(GENERATION_KEY, value, None)
        value = cache.get(GENERATION_KEY, value)
    return value


def invalidate() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)


def _on_write(sender, **kwargs) -> None:
    if sender._meta.app_label == "gallery":
        transaction.on_commit(invalidate)


def connect_signals() -> None:
    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(_on_write, dispatch_uid=f"skygallery-pagecache-{id(signal)}")


def anonymous_page_cache(view):
    """Serve the view's 200 responses to anonymous GET requests from the cache."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "GET" or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        key = "skygallery:page:" + hashlib.sha1(f"{generation()} {request.get_full_path()}".encode()).hexdigest()
        hit = cache.get(key)
        if hit is not None:
            content, content_type = hit
            return HttpResponse(content, content_type=content_type)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.cookies and not response.streaming:
            cache.set(key, (response.content, response["Content-Type"]), PAGE_TTL_S)
        return response
    return wrapper
