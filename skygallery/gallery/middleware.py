"""Reject request bodies over the configured limit before anything reads them."""
from django.conf import settings
from django.http import JsonResponse


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_UPLOAD_BYTES
        if length > limit:
            message = f"request body of {length} bytes exceeds the upload limit of {limit} bytes"
            return JsonResponse({"detail": [{"loc": ["body"], "msg": message, "type": "too_large"}]}, status=413)
        return self.get_response(request)
