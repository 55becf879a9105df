"""The MMODA-dispatcher gallery endpoints (thin: authorise, read the fields, call compat, answer JSON).

They authenticate with the ``token`` field rather than a browser session, hence no CSRF check. Errors are
JSON ``{"error_message", "detail"}`` (the keys the oda_api client reports), with our 4xx statuses.
"""
from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from skygallery.gallery.errors import GalleryError

from . import entities, products, queries
from .auth import authorise
from .drupal import log_node, observation_node, product_node, source_node
from .files import yaml_uploads
from .forms import Fields

POST_ACTION = "post on the product gallery"


def base_url(request) -> str:
    return settings.SKYGALLERY.get("PUBLIC_URL", "").rstrip("/") or request.build_absolute_uri("/").rstrip("/")


def endpoint(method: str, write: bool = False, action: str = POST_ACTION):
    """Wrap a handler ``fn(request, user, fields) -> data`` into a JSON view."""
    def decorate(fn):
        @csrf_exempt
        @wraps(fn)
        def view(request):
            if request.method != method:
                return JsonResponse({"error_message": f"use {method}"}, status=405, headers={"Allow": method})
            try:
                user = authorise(request, action, write)
                fields = Fields(request.POST if method == "POST" else request.GET)
                return JsonResponse(fn(request, user, fields), safe=False)
            except GalleryError as exc:
                return JsonResponse({"error_message": exc.message, "detail": exc.as_detail()}, status=exc.status)
        return view
    return decorate


@endpoint("POST", write=True)
def post_product_to_gallery(request, user, fields):
    return product_node(products.post_product_form(fields, request.FILES, user), base_url(request))


@endpoint("POST", write=True, action="delete from the product gallery")
def delete_product_to_gallery(request, user, fields):
    return products.delete_product_form(fields, user)


@endpoint("POST", write=True)
def post_observation_to_gallery(request, user, fields):
    obs = entities.post_observation_form(fields, yaml_uploads(request.FILES), user)
    return observation_node(obs, base_url(request))


@endpoint("POST", write=True)
def post_astro_entity_to_gallery(request, user, fields):
    return source_node(entities.post_astro_entity_form(fields), base_url(request))


@endpoint("POST", write=True, action="post revolution processing log on the product gallery")
def post_revolution_processing_log_to_gallery(request, user, fields):
    return log_node(entities.post_log_form(fields, user), base_url(request))


@endpoint("GET")
def get_list_terms(request, user, fields):
    fields.check_known({"group", "parent", "parent_id"})
    return queries.list_terms(fields.text("group"), fields.text("parent"))


@endpoint("GET")
def get_parents_term(request, user, fields):
    fields.check_known({"term", "group"})
    return queries.parents_term(fields.text("term"), fields.text("group"))


@endpoint("GET")
def get_observation_attachments(request, user, fields):
    fields.check_known({"title"})
    return entities.observation_attachments(fields.text("title"), base_url(request))


@endpoint("GET")
def get_all_revs(request, user, fields):
    fields.check_known(())
    return queries.all_revolutions()


@endpoint("GET")
def get_all_astro_entities(request, user, fields):
    fields.check_known(())
    return queries.astro_entities()


@endpoint("GET")
def get_astro_entity_info_by_source_name(request, user, fields):
    fields.check_known({"src_name"})
    return queries.astro_entity_info(fields.text("src_name"), base_url(request))


@endpoint("GET")
def get_data_product_list_with_conditions(request, user, fields):
    return queries.products_with_conditions(fields, base_url(request))


@endpoint("GET")
def get_data_product_list_by_source_name(request, user, fields):
    return queries.products_by_source_name(fields, base_url(request))


@endpoint("GET")
def resolve_name(request, user, fields):
    fields.check_known({"name"})
    return queries.resolve_name(fields.text("name"))


@endpoint("GET")
def get_revnum(request, user, fields):
    fields.check_known({"time_to_convert"})
    return queries.revnum(fields.text("time_to_convert"))
