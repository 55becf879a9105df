"""Previous/next links that keep the rest of the query string."""
from __future__ import annotations

from math import ceil


def page_links(request, page) -> dict:
    """URLs of the previous and next page (None at the ends) and the number of pages."""
    def url(n):
        query = request.GET.copy()
        query["page"] = n
        return "?" + query.urlencode()
    pages = max(1, ceil(page.total / page.page_size))
    return {"prev": url(page.page - 1) if page.page > 1 else None,
            "next": url(page.page + 1) if page.page < pages or not page.total_exact else None,
            "pages": pages}
