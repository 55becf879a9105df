"""The pipeline commands: a local run with its summary table, and bad input → exit code 2 naming the field."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from skygallery.client.cli import app

from .helpers import REV2

pytestmark = pytest.mark.django_db


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_process_revolution_command_posts_and_summarises(sim_archive, workdir, contributor):
    from skygallery.gallery.models import Product
    result = invoke("process-revolution", REV2, "--archive", sim_archive.root, "--workdir", workdir,
                    "--instruments", "isgri", "--workers", 1, "--as-user", contributor.username)
    assert result.exit_code == 0, result.output
    assert f"Revolution {REV2}" in result.output and "isgri ScWs" in result.output and "2 (2 cached" in result.output
    assert Product.objects.filter(created_by=contributor, product_id__startswith=f"rev{REV2}-").count() >= 5


@pytest.mark.parametrize("args, field", [
    (["process-revolution", REV2, "--instruments", "isgri,spi"], "instruments"),
    (["process-revolution", REV2, "--data-version", "FINAL"], "data_version"),
    (["process-revolution", REV2, "--threshold", "-1"], "detection_threshold"),
    (["process-revolution", 1234], "rev"),
    (["process-source", "No Such Source"], "name"),
    (["process-source", "Crab", "--t1", "2024-01-02T00:00:00", "--t2", "2024-01-01T00:00:00"], "t1"),
    (["process-source", "Crab", "--t2", "yesterday"], "t2"),
])
def test_bad_input_names_the_field(sim_archive, workdir, contributor, args, field):
    result = invoke(*args, "--archive", sim_archive.root, "--workdir", workdir, "--as-user", contributor.username)
    assert result.exit_code == 2, result.output
    assert f"invalid input: {field}:" in result.output


def test_missing_archive_and_notebook_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("SKYGALLERY_ARCHIVE", raising=False)
    result = invoke("process-revolution", REV2, "--workdir", tmp_path)
    assert result.exit_code == 2 and "invalid input: archive:" in result.output
    result = invoke("process-revolution", REV2, "--archive", tmp_path / "absent")
    assert result.exit_code == 2 and "is not a folder" in result.output
    result = invoke("run-notebook", "no_such_notebook")
    assert result.exit_code == 2 and "invalid input: name: no notebook" in result.output
    result = invoke("run-notebook", "revolution_products", "-p", "rev_number", "12")
    assert result.exit_code == 2 and "invalid input: rev_number: not a parameter" in result.output
    result = invoke("run-notebook", "revolution_products", "-p", "token", "secret")
    assert result.exit_code == 2 and "invalid input: token:" in result.output
    result = invoke("run-notebook", "revolution_products", "-p", "rev_num")
    assert result.exit_code == 2 and "invalid input: parameter:" in result.output
