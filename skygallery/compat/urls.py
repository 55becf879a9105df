"""The dispatcher endpoints, mounted under ``SKYGALLERY["COMPAT_PREFIX"]`` (default ``dispatch-data``)."""
from django.urls import path

from . import views

ENDPOINTS = ("post_product_to_gallery", "delete_product_to_gallery", "post_observation_to_gallery",
             "post_astro_entity_to_gallery", "post_revolution_processing_log_to_gallery", "get_list_terms",
             "get_parents_term", "get_observation_attachments", "get_all_revs", "get_all_astro_entities",
             "get_astro_entity_info_by_source_name", "get_data_product_list_with_conditions",
             "get_data_product_list_by_source_name", "resolve_name", "get_revnum")

urlpatterns = [path(name, getattr(views, name), name=f"compat-{name}") for name in ENDPOINTS]
