"""Evidence files on ratings: uploaded with the assessment form or the API, kept in Postgres,
downloaded only by those who see the team, refused when too big, frozen once submitted."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from maturity import services
from maturity.catalogue import parse_model
from maturity.models import EvidenceFile
from portal.uploads import read_upload
from tests.maturity.test_pages import _ratings
from tests.maturity.test_workflow import SMALL_MODEL

URL = "/maturity/assessments/checkout-2026-q3/"
RUNBOOK = b"# On-call runbook\nPage the owner, then roll back.\n"


@pytest.fixture
def draft(org):
    model = services.model_import(actor=org.users["lee"], spec=parse_model(SMALL_MODEL))
    return services.assessment_create(
        actor=org.users["mo"], team=org.checkout, model=model, period="2026-Q3"
    )


def _upload(name="runbook.md", data=RUNBOOK):
    return SimpleUploadedFile(name, data, content_type="text/markdown")


def test_a_file_sent_with_the_form_is_kept_and_downloads_as_an_attachment(client_for, draft):
    mo = client_for("mo")
    data = _ratings(deployment_automation=2) | {"file-learning-culture": _upload()}

    saved = mo.post(URL, data, follow=True)

    evidence = EvidenceFile.objects.get()
    assert (evidence.rating.capability.key, evidence.name, evidence.size) == (
        "learning-culture",
        "runbook.md",
        len(RUNBOOK),
    )
    assert evidence.sha256 == hashlib.sha256(RUNBOOK).hexdigest()
    assert f'href="/maturity/evidence/{evidence.pk}/"' in saved.content.decode()
    download = client_for("sam").get(f"/maturity/evidence/{evidence.pk}/")
    assert download.content == RUNBOOK
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == "attachment; filename*=UTF-8''runbook.md"
    assert download["X-Content-Type-Options"] == "nosniff"


def test_members_of_other_teams_cannot_download_or_remove(client_for, org, draft):
    rating = draft.ratings.get(capability__key="learning-culture")
    evidence = services.evidence_attach(
        actor=org.users["mo"], rating=rating, upload=read_upload(_upload())
    )

    kim = client_for("kim")
    assert kim.get(f"/maturity/evidence/{evidence.pk}/").status_code == 404
    assert kim.post(f"/maturity/evidence/{evidence.pk}/remove/").status_code == 404
    assert client_for("sam").post(f"/maturity/evidence/{evidence.pk}/remove/").status_code == 403
    assert EvidenceFile.objects.count() == 1

    client_for("mo").post(f"/maturity/evidence/{evidence.pk}/remove/")
    assert EvidenceFile.objects.count() == 0


def test_a_file_over_the_limit_is_refused_with_nothing_saved(client_for, draft, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    data = _ratings(deployment_automation=2) | {
        "file-learning-culture": _upload("dump.bin", b"x" * 1025)
    }

    response = client_for("mo").post(URL, data)

    assert response.status_code == 200
    page = response.content.decode().replace("\xa0", " ")
    assert "Files are limited to 1.0 KB; this one is 1.0 KB." in page
    assert EvidenceFile.objects.count() == 0
    assert draft.ratings.get(capability__key="deployment-automation").level is None


def test_the_api_takes_a_multipart_file_and_lists_it_on_the_rating(api_client_for, org, draft):
    mo = api_client_for(org.users["mo"])
    url = "/api/v1/assessments/checkout-2026-q3/ratings/learning-culture/evidence/"

    created = mo.post(url, {"file": _upload()}, format="multipart")
    missing = mo.post(url, {}, format="multipart")
    empty = mo.post(url, {"file": _upload(data=b"")}, format="multipart")
    as_json = mo.post(url, {"file": "runbook"}, format="json")

    assert created.status_code == 201, created.content
    (listed,) = created.json()["files"]
    assert (listed["name"], listed["size"]) == ("runbook.md", len(RUNBOOK))
    assert listed["url"].endswith(f"/maturity/evidence/{listed['id']}/")
    assert (missing.status_code, "file" in missing.json()) == (400, True)
    assert empty.status_code == 400
    assert as_json.status_code == 415
    assessment = mo.get("/api/v1/assessments/checkout-2026-q3/").json()
    by_key = {r["capability"]: r for r in assessment["ratings"]}
    assert [f["name"] for f in by_key["learning-culture"]["files"]] == ["runbook.md"]
    assert api_client_for(org.users["kim"]).post(url, {"file": _upload()}).status_code == 404


def test_files_are_frozen_once_the_assessment_is_submitted(org, draft):
    services.ratings_update(
        actor=org.users["mo"],
        assessment=draft,
        changes={"deployment-automation": {"level": 2}, "learning-culture": {"level": 3}},
    )
    services.assessment_submit(actor=org.users["mo"], assessment=draft)
    rating = draft.ratings.get(capability__key="learning-culture")

    with pytest.raises(services.ConflictError, match="The assessment is submitted"):
        services.evidence_attach(
            actor=org.users["mo"], rating=rating, upload=read_upload(_upload())
        )
    assert EvidenceFile.objects.count() == 0
