"""Locust users for the load test (benchmarks/load.py starts locust with this file).

Two kinds of user at a fixed rate each (``constant_throughput``), so the offered load is stated,
not whatever the machine can take: GitLab sending signed pipeline hooks, and API clients reading
the main lists and metrics with their own tokens. Every status is counted by class (2xx, 4xx,
5xx, connection errors) and written to ``LOAD_STATUS_FILE`` when locust quits.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import random
import uuid

from locust import FastHttpUser, constant_throughput, events, task

CONFIG = json.loads(os.environ.get("LOAD_CONFIG", "{}"))
STATUS_CLASSES: collections.Counter[str] = collections.Counter()
_delivery_ids = itertools.count(5_000_000)
_reader_numbers = itertools.count()


def _count(response) -> None:
    status = response.status_code or 0
    STATUS_CLASSES["error" if status == 0 else f"{status // 100}xx"] += 1
    if not 200 <= status < 300:
        response.failure(f"HTTP {status}")


class GitLabWebhooks(FastHttpUser):
    """GitLab delivering pipeline hooks: one per second per user, each a distinct pipeline."""

    fixed_count = CONFIG.get("webhook_users", 0)
    wait_time = constant_throughput(1)

    @task
    def deliver(self) -> None:
        payload = CONFIG["hook"]
        payload["object_attributes"] = payload["object_attributes"] | {"id": next(_delivery_ids)}
        headers = {
            "Content-Type": "application/json",
            "X-Gitlab-Event": "Pipeline Hook",
            "X-Gitlab-Token": CONFIG["webhook_secret"],
            "Idempotency-Key": str(uuid.uuid4()),
        }
        with self.client.post(
            CONFIG["webhook_path"],
            data=json.dumps(payload),
            headers=headers,
            name="POST /webhooks/gitlab/<slug>/",
            catch_response=True,
        ) as response:
            _count(response)


class ApiReader(FastHttpUser):
    """A dashboard or script reading the API with its own token: one request per second."""

    fixed_count = CONFIG.get("reader_users", 0)
    wait_time = constant_throughput(1)

    def on_start(self) -> None:
        # Spread the users evenly over the tokens, so each stays far below the API throttle.
        self.reader = CONFIG["readers"][next(_reader_numbers) % len(CONFIG["readers"])]

    @task
    def read(self) -> None:
        name, path = random.choice(self.reader["reads"])
        with self.client.get(
            path,
            headers={"Authorization": f"Token {self.reader['token']}"},
            name=name,
            catch_response=True,
        ) as response:
            _count(response)


@events.quitting.add_listener
def _write_statuses(environment, **kwargs) -> None:
    path = os.environ.get("LOAD_STATUS_FILE")
    if path:
        with open(path, "w") as out:
            json.dump(dict(STATUS_CLASSES), out)
