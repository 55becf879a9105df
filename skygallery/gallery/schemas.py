"""Input and output schemas shared by the REST API, the services and the CLI."""
from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, ValidationError

from .errors import InvalidInput


class StrictSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class SourceRefIn(StrictSchema):
    name: str = Field(min_length=1, max_length=128)
    ra: float | None = Field(None, description="deg")
    dec: float | None = Field(None, description="deg")
    object_type: str | None = Field(None, max_length=32)
    aliases: list[str] = []


class ProvenanceIn(StrictSchema):
    notebook: str = Field("", max_length=500, description="Notebook or workflow URL or path")
    commit: str = Field("", max_length=64, description="Repository commit of the notebook")
    parameters: dict[str, Any] = {}
    software: dict[str, Any] = {}
    job_id: str = Field("", max_length=128)


class DetectedSourceIn(StrictSchema):
    name: str = Field(min_length=1, max_length=128)
    ra: float
    dec: float
    flux: float | None = None
    flux_err: float | None = None
    significance: float | None = None
    new_source: bool = False


class ProductIn(StrictSchema):
    product_id: str | None = Field(None, min_length=1, max_length=200, pattern=r"^[^/\\?#%\x00-\x1f\x7f]+$",
                                   description="Upsert key (no / \\ ? # %); a new id is made if absent")
    title: str = Field(min_length=1, max_length=300)
    instrument: str
    product_type: str
    e1_kev: float
    e2_kev: float
    t1: str | float = Field(description="ISOT (UTC), mjd:X, ijd:X, or a number (IJD < 40000 ≤ MJD)")
    t2: str | float
    time_format: Literal["isot", "mjd", "ijd"] | None = None
    ra: float | None = Field(None, description="deg")
    dec: float | None = Field(None, description="deg")
    sources: list[str | SourceRefIn] = []
    create_sources: bool = Field(False, description="Create sources that the gallery does not know")
    observation: str | None = Field(None, description="Title of an existing observation")
    time_bin_s: float | None = None
    data_version: Literal["NRT", "CONS"] = "CONS"
    highlight: bool = False
    provenance: ProvenanceIn = ProvenanceIn()
    detected_sources: list[DetectedSourceIn] = []
    keep_files: bool = Field(False, description="Carry the previous version's files over to the new one")


class SourceIn(StrictSchema):
    name: str = Field(min_length=1, max_length=128)
    ra: float | None = None
    dec: float | None = None
    object_type: str = Field("", max_length=32)
    aliases: list[str] = []
    catalog_url: str = Field("", max_length=500)
    resolve: bool = Field(False, description="Fill position, type and aliases from the offline catalogs")


class SourceUpdateIn(StrictSchema):
    name: str | None = Field(None, max_length=128, description="New canonical name (the old one stays an alias)")
    ra: float | None = None
    dec: float | None = None
    object_type: str | None = Field(None, max_length=32)
    aliases: list[str] | None = None
    replace_aliases: bool = False
    catalog_url: str | None = Field(None, max_length=500)


class ObservationIn(StrictSchema):
    title: str = Field(min_length=1, max_length=255)
    t1: str | float
    t2: str | float
    time_format: Literal["isot", "mjd", "ijd"] | None = None
    obsids: list[str] = []
    expid: str = Field("", max_length=64)
    pi: str = Field("", max_length=255)
    proposal_title: str = Field("", max_length=500)
    target: str = Field("", max_length=255)
    scw_list: list[str] = []


class ProcessingLogIn(StrictSchema):
    revolution: int = Field(ge=1, le=9999)
    job_id: str = Field("", max_length=128)
    status: Literal["success", "failure", "running"]
    text: str = ""


class RevolutionIn(StrictSchema):
    data_status: Literal["NRT", "CONS", ""]


def parse_schema(model: type[Schema], data: Any, prefix: str = ""):
    """Validate ``data`` against ``model``; raise InvalidInput naming every bad field."""
    if not isinstance(data, dict):
        raise InvalidInput((prefix or "body", "expected a JSON object"))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("str", "SourceRefIn")))
            errors.append(((prefix + loc) if loc else (prefix or "body"), err["msg"]))
        raise InvalidInput(errors) from None
