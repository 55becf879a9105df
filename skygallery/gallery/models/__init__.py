"""The gallery's data model (see docs/data-model.md)."""
from .vocab import DATA_VERSIONS, FAMILIES, FILE_ROLES, Instrument, ProductType
from .sources import Source, SourceName
from .observations import Observation, ObservationFile, ProcessingLog, Revolution
from .products import DetectedSource, Product, ProductFile, ProductSource, ProductVersion
from .accounts import ApiToken, ResolverCache

__all__ = [
    "DATA_VERSIONS", "FAMILIES", "FILE_ROLES", "Instrument", "ProductType", "Source", "SourceName",
    "Observation", "ObservationFile", "ProcessingLog", "Revolution", "DetectedSource", "Product",
    "ProductFile", "ProductSource", "ProductVersion", "ApiToken", "ResolverCache",
]
