"""The NinjaAPI instance, its error handlers and routers."""
from __future__ import annotations

import logging

from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from ..errors import GalleryError

log = logging.getLogger(__name__)

api = NinjaAPI(
    title="SkyGallery API",
    version="1",
    description="Products, sources, observations and revolutions of the INTEGRAL product gallery. "
                "Reads are open; writes need a contributor token (`Authorization: Bearer …`).",
    urls_namespace="api-v1",
    docs_url="/docs",
)


@api.exception_handler(GalleryError)
def gallery_error(request, exc: GalleryError):
    return api.create_response(request, {"detail": exc.as_detail()}, status=exc.status)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    detail = [{"loc": [str(p) for p in e.get("loc", [])], "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return api.create_response(request, {"detail": [{"loc": ["Authorization"], "msg": "authentication required",
                                                    "type": "unauthorized"}]}, status=401)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return api.create_response(request, {"detail": [{"loc": [], "msg": str(exc), "type": "http"}]},
                               status=exc.status_code)


@api.exception_handler(Exception)
def unexpected(request, exc: Exception):
    log.exception("unexpected error on %s", request.path)
    return api.create_response(request, {"detail": [{"loc": [], "msg": "internal error", "type": "server"}]},
                               status=500)


from . import accounts, observations, products, sources, vocabulary  # noqa: E402  (routers register on import)

api.add_router("/products", products.router)
api.add_router("/sources", sources.router)
api.add_router("/", observations.router)
api.add_router("/", vocabulary.router)
api.add_router("/tokens", accounts.router)
