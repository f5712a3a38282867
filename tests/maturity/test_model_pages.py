"""Leads import and edit maturity models in the browser and through the API; a version in use
keeps its words, a bad file is refused with every problem, nothing half-saved."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from maturity import services
from maturity.catalogue import parse_model
from maturity.models import Level, MaturityModel
from tests.maturity.test_workflow import SMALL_MODEL

RENAMED = SMALL_MODEL.replace('2: "Monthly"', '2: "At least monthly"')


@pytest.fixture
def small(org):
    return services.model_import(actor=org.users["lee"], spec=parse_model(SMALL_MODEL))


def _level_two(version: int) -> str:
    return Level.objects.get(
        capability__model__version=version,
        capability__key="deployment-automation",
        number=2,
    ).description


def test_a_lead_edits_an_unused_model_in_place(client_for, small):
    lee = client_for("lee")
    page = lee.get("/maturity/models/small/edit/").content.decode()
    assert "saving changes it in place" in page
    assert "Monthly" in page

    saved = lee.post("/maturity/models/small/edit/", {"yaml": RENAMED}, follow=True)

    assert "Saved version 1." in saved.content.decode()
    assert MaturityModel.objects.count() == 1
    assert _level_two(1) == "At least monthly"


def test_editing_a_model_in_use_saves_the_next_version(client_for, org, small):
    services.assessment_create(
        actor=org.users["mo"], team=org.checkout, model=small, period="2026-Q3"
    )
    lee = client_for("lee")
    assert "saving makes version 2" in lee.get("/maturity/models/small/edit/").content.decode()

    saved = lee.post("/maturity/models/small/edit/", {"yaml": RENAMED}, follow=True)

    assert "Saved as version 2; version 1 keeps its words for its 1 assessment." in (
        saved.content.decode()
    )
    assert (_level_two(1), _level_two(2)) == ("Monthly", "At least monthly")
    listing = lee.get("/maturity/models/").content.decode()
    assert listing.count('href="/maturity/models/small/edit/"') == 1  # the latest only


def test_a_bad_model_lists_its_problems_and_saves_nothing(client_for, small):
    bad = SMALL_MODEL.replace("deployment_frequency", "happiness").replace(
        "slug: small", 'slug: "Not A Slug"'
    )

    response = client_for("lee").post("/maturity/models/small/edit/", {"yaml": bad})

    page = response.content.decode()
    assert response.status_code == 200
    assert "The model was not saved" in page
    assert "unknown metric &#x27;happiness&#x27;" in page
    assert "slug: String should match pattern" in page
    assert _level_two(1) == "Monthly"


def test_a_lead_imports_a_file_and_others_cannot(client_for, small):
    upload = SimpleUploadedFile("small.yaml", RENAMED.encode(), content_type="application/yaml")

    imported = client_for("lee").post("/maturity/models/", {"file": upload}, follow=True)

    assert "Imported Small model as version 2." in imported.content.decode()
    assert client_for("mo").post("/maturity/models/", {"yaml": SMALL_MODEL}).status_code == 403
    assert client_for("mo").get("/maturity/models/small/edit/").status_code == 403
    assert "Edit" not in client_for("mo").get("/maturity/models/").content.decode()
    assert client_for("lee").get("/maturity/models/nope/edit/").status_code == 404
    empty = client_for("lee").post("/maturity/models/", {"yaml": " "})
    assert "Paste the model" in empty.content.decode()
    assert MaturityModel.objects.count() == 2


def test_the_api_edits_the_latest_version(api_client_for, org, small):
    lee = api_client_for(org.users["lee"])

    edited = lee.put("/api/v1/maturity-models/small/", {"yaml": RENAMED}, format="json")
    refused = lee.put("/api/v1/maturity-models/small/", {"yaml": "areas: 3"}, format="json")
    member = api_client_for(org.users["mo"]).put(
        "/api/v1/maturity-models/small/", {"yaml": RENAMED}, format="json"
    )

    assert (edited.status_code, edited.json()["version"]) == (200, 1)
    assert _level_two(1) == "At least monthly"
    assert (refused.status_code, "yaml" in refused.json()) == (400, True)
    assert member.status_code == 403
