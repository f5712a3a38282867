"""Token authentication through the real Authorization header, and read-only tokens."""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portal.models import Team, TokenScope


def _client_with_token(token: Token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_a_token_acts_as_its_user(org):
    client = _client_with_token(Token.objects.create(user=org.users["ada"]))

    response = client.post("/api/v1/teams/", {"name": "Search"}, format="json")

    assert response.status_code == 201
    assert response.json()["slug"] == "search"


def test_a_read_only_token_reads_but_cannot_write(org):
    token = Token.objects.create(user=org.users["ada"])
    TokenScope.objects.create(token=token, read_only=True)
    client = _client_with_token(token)

    assert client.get("/api/v1/teams/").status_code == 200
    response = client.post("/api/v1/teams/", {"name": "Search"}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "This API token is read-only."}
    assert not Team.objects.filter(slug="search").exists()


def test_an_unknown_token_is_refused_with_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/v1/teams/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
