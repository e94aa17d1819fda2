"""Every file in ../shared/data/docs goes through `plinth ingest`: each is ingested or refused with the
right reason, the refusals are recorded, and nothing crashes the process."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli.main import cli
from app.core.db import session_scope
from app.domains.knowledge.models import Document, DocumentVersion, IngestRefusal
from tests.conftest import Env

# Every other file in the folder must be ingested.
REFUSED = {
    "pypdf-samples__imagemagick-CCITTFaxDecode.pdf": "no_text",
    "pypdf-samples__libreoffice-writer-password.pdf": "encrypted",
    "python-docx__having-images.docx": "no_text",
    "tika__testEXCEL_protected_passtika.xlsx": "encrypted",
    "tika__testOCR.pdf": "no_text",
    "tika__testPDF_bad_page_303226.pdf": "corrupt",
    "unstructured__DA-1p.heic": "unsupported_type",
    "unstructured__DA-1p.png": "unsupported_type",
    "unstructured__DA-619p.pdf": "too_many_pages",  # the test runs with a 300-page limit
    "unstructured__fake-power-point.ppt": "unsupported_type",
    "unstructured__fake.doc": "unsupported_type",
    "unstructured__loremipsum-flat.pdf": "no_text",
    "unstructured__password.pdf": "encrypted",
    "unstructured__password_protected.xlsx": "encrypted",
    "unstructured__simple.odt": "unsupported_type",
    "unstructured__tests-example.xls": "unsupported_type",
    "unstructured__winter-sports.epub": "unsupported_type",
}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 1,500 chunks to embed on two cores
def test_every_real_document_is_ingested_or_refused_with_its_reason(
    database_url: str, env: Env, shared_data: Path
) -> None:
    env.set(PLINTH_LIMITS_MAX_PAGES="300")
    folder = shared_data / "docs"
    files = sorted(p.name for p in folder.iterdir())  # _INDEX.tsv too: a real tab-separated file
    result = CliRunner().invoke(cli, ["ingest", str(folder)], catch_exceptions=False)
    assert result.exit_code == 1  # some were refused
    output = result.stdout + result.stderr
    for name in files:
        verdict = "refused" if name in REFUSED else "ingested"
        assert f"{verdict} {folder / name}" in output, name
    with session_scope() as session:
        refusals = {r.original_name: r for r in session.scalars(select(IngestRefusal))}
        ingested = set(session.scalars(select(DocumentVersion.original_name)))
        documents = session.scalars(select(Document)).all()
    assert {name: r.reason for name, r in refusals.items()} == REFUSED
    assert all(r.content_sha256 and len(r.content_sha256) == 64 for r in refusals.values())
    assert ingested == set(files) - set(REFUSED)
    assert len(documents) == len(ingested)

    again = CliRunner().invoke(cli, ["ingest", str(folder / "unstructured__fake-memo.pdf")])
    assert again.exit_code == 0
    assert "unchanged" in again.stdout
    one = CliRunner().invoke(cli, ["ingest", str(folder / "unstructured__password.pdf")])
    assert one.exit_code == 1
    reason = "the PDF is password-protected; send an unprotected copy"
    assert one.stderr.strip().splitlines() == [f"refused {folder / 'unstructured__password.pdf'}: {reason}"]
    listed = CliRunner().invoke(cli, ["docs", "refusals", "--limit", "1"])
    assert '"reason": "encrypted"' in listed.stdout
