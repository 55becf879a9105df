"""REST API ``/api/v1`` (django-ninja; OpenAPI at ``/api/docs``)."""
from .app import api

__all__ = ["api"]
