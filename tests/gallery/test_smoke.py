import json

import pytest

from tests.conftest import fits_image_bytes, image_metadata, png_bytes


@pytest.mark.django_db
def test_post_and_get(client, contributor_token):
    from django.core.files.uploadedfile import SimpleUploadedFile
    files = {"fits": [SimpleUploadedFile("mosaic.fits", fits_image_bytes())],
             "preview": [SimpleUploadedFile("p.png", png_bytes())]}
    r = client.post("/api/v1/products", {"metadata": json.dumps(image_metadata()), **files},
                    HTTP_AUTHORIZATION=f"Bearer {contributor_token}")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["rev1"] == 2565 and body["sources"] == ["Crab"]
    r = client.get("/api/v1/products", {"instrument": "isgri", "source": "crab"})
    assert r.json()["total"] == 1
