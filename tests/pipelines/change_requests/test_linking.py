"""Which changes and deployments carry a request: the key as a word in a title, a pull request
URL or a ref (any case; CR-12 is not CR-123), a deployment's changes, and hand links. The same
rule holds in Python and in the database."""

from __future__ import annotations

import pytest

from pipelines.change_requests import linking, services
from pipelines.models import Change, Deployment
from portal.exceptions import ApplicationError, ConflictError

TEXTS = [
    ("CR-12: export as CSV", {12}),
    ("cr-12 export", {12}),
    ("Fix [CR-12] and (Cr-7)", {12, 7}),
    ("CR-12-csv-export", {12}),
    ("refs CR-12.", {12}),
    ("CR-123 export", {123}),
    ("CR-1234", {1234}),
    ("XCR-12", set()),
    ("CR-12x", set()),
    ("CR-12_x", set()),
    ("CR-012", set()),
    ("CR-", set()),
    ("CR12", set()),
    ("CR-12345678901", set()),  # longer than any request number
    ("", set()),
]


@pytest.mark.parametrize(("text", "numbers"), TEXTS)
def test_the_key_is_found_as_a_word(text, numbers):
    assert linking.mentioned_numbers(text) == numbers


@pytest.mark.parametrize(("text", "numbers"), TEXTS)
def test_the_database_agrees_with_python(service, text, numbers):
    """Every sample as a change title, matched by PostgreSQL's ~* against each candidate."""
    Change.objects.create(service=service, sha="s", title=text, committed_at="2027-03-01T09:00Z")

    for number in (7, 12, 123, 1234):
        found = linking.changes_mentioning([number]).exists()
        assert found == (number in numbers), (text, number)


@pytest.mark.parametrize(
    ("key", "number"),
    [("CR-12", 12), ("cr-12", 12), (" CR-12 ", 12), ("CR-0", None), ("CR-12a", None),
     ("12", None), ("CR-1234567890", None)],
)  # fmt: skip
def test_keys_are_parsed_strictly(key, number):
    assert linking.parse_key(key) == number


def test_cr_12_is_not_carried_by_what_mentions_cr_123(raise_request, commit, deploy):
    twelve = raise_request("Twelve")
    ChangeRequest = type(twelve)
    ChangeRequest.objects.filter(pk=twelve.pk).update(number=12)
    hundred = raise_request("Hundred and twenty-three")
    ChangeRequest.objects.filter(pk=hundred.pk).update(number=123)
    twelve.refresh_from_db()
    hundred.refresh_from_db()
    change = commit("c123", "CR-123: bigger export", hours=1)
    deploy("staging", "s1", hours=2, changes=[change], ref="release/CR-1234")

    assert linking.carriers_of(twelve) == ([], [])
    changes, deployments = linking.carriers_of(hundred)
    assert [c.record.sha for c in changes] == ["c123"]
    assert [d.record.external_id for d in deployments] == ["s1"]


def test_a_change_carries_it_by_title_or_pull_request(raise_request, commit):
    request = raise_request()
    commit("t1", "Merge pull request #9: cr-1 invoices as CSV", hours=1)
    commit("p1", "Invoices as CSV", hours=2, pull_request="https://git.example/pull/CR-1")
    commit("no", "Unrelated work", hours=3)

    changes, _ = linking.carriers_of(request)

    assert [(c.record.sha, c.by_key, c.by_hand) for c in changes] == [
        ("t1", True, False),
        ("p1", True, False),
    ]


def test_a_deployment_carries_it_by_ref_or_through_its_changes(raise_request, commit, deploy):
    request = raise_request()
    mentioning = commit("m1", "CR-1 export", hours=1)
    plain = commit("x1", "refactor", hours=1)
    deploy("dev", "by-ref", hours=2, changes=[plain], ref="feature/cr-1-export")
    deploy("staging", "by-change", hours=3, changes=[plain, mentioning])
    deploy("production", "neither", hours=4, changes=[plain], ref="main")

    _, deployments = linking.carriers_of(request)

    assert [(d.record.external_id, d.by_key) for d in deployments] == [
        ("by-ref", True),
        ("by-change", True),
    ]


def test_deployments_before_the_request_existed_are_not_carried_by_key(
    raise_request, commit, deploy
):
    """The key did not exist yet: an older mention is another tracker's CR-1."""
    old = commit("old", "CR-1 from the old tracker", hours=-50)
    deploy("production", "old-prod", hours=-49, changes=[old])
    request = raise_request()

    changes, deployments = linking.carriers_of(request)

    assert [c.record.sha for c in changes] == ["old"]  # listed: its text mentions the key
    assert deployments == []
    assert linking.first_production_deployments([request]) == {}


def test_hand_links_carry_it_and_are_marked(org, raise_request, commit, deploy):
    request = raise_request()
    hand_change = commit("h1", "no key here", hours=1)
    keyed = commit("k1", "CR-1 done", hours=1)
    through_hand = deploy("staging", "s-hand", hours=2, changes=[hand_change])
    by_both = deploy("production", "p-both", hours=3, changes=[keyed])
    mo = org.users["mo"]

    assert services.cr_link(actor=mo, request=request, change=hand_change) is True
    assert services.cr_link(actor=mo, request=request, deployment=by_both) is True
    assert services.cr_link(actor=mo, request=request, deployment=by_both) is False  # again

    changes, deployments = linking.carriers_of(request)
    assert [(c.record.sha, c.by_key, c.by_hand) for c in changes] == [
        ("h1", False, True),
        ("k1", True, False),
    ]
    assert [(d.record, d.by_key, d.by_hand) for d in deployments] == [
        (through_hand, False, True),
        (by_both, True, True),
    ]


def test_unlinking_removes_hand_links_only(org, raise_request, commit):
    request = raise_request()
    hand, keyed = commit("h1", "no key", hours=1), commit("k1", "CR-1 done", hours=1)
    mo = org.users["mo"]
    services.cr_link(actor=mo, request=request, change=hand)

    services.cr_unlink(actor=mo, request=request, change=hand)
    with pytest.raises(ConflictError):
        services.cr_unlink(actor=mo, request=request, change=keyed)
    with pytest.raises(ApplicationError) as not_linked:
        services.cr_unlink(actor=mo, request=request, change=hand)

    assert not_linked.value.status_code == 404
    assert [c.record.sha for c in linking.carriers_of(request)[0]] == ["k1"]


def test_the_batch_and_the_single_request_reads_agree(raise_request, commit, deploy, org):
    """first_production_deployments (the refresh's batch read) picks, for each request, the
    earliest successful production deployment among carriers_of's deployments."""
    one, two, three = raise_request("One"), raise_request("Two"), raise_request("Three")
    c1 = commit("c1", "CR-1 and CR-2", hours=1)
    c2 = commit("c2", "cr-2 again", hours=2)
    hand = commit("c3", "plain", hours=2)
    deploy("production", "p1", hours=3, changes=[c2])
    deploy("production", "p2", hours=4, changes=[c1, hand])
    deploy("staging", "s1", hours=2.5, changes=[c1, hand])
    services.cr_link(actor=org.users["mo"], request=three, change=hand)

    first = linking.first_production_deployments([one, two, three])

    external_ids = {r.key: Deployment.objects.get(pk=first[r.pk][1]).external_id
                    for r in (one, two, three)}  # fmt: skip
    assert external_ids == {"CR-1": "p2", "CR-2": "p1", "CR-3": "p2"}
    for request in (one, two, three):
        shipped = [
            d.record
            for d in linking.carriers_of(request)[1]
            if d.record.environment.is_production and d.record.status == "success"
        ]
        earliest = min(shipped, key=lambda d: (d.finished_at, d.pk))
        assert first[request.pk] == (earliest.finished_at, earliest.pk)
