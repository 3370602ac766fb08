"""Storage: a data directory keeps everything across a restart; memory keeps nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from eventschema_tools.sandbox import DEMO_API_KEY, run_sandbox

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}


def test_state_survives_a_restart_with_a_data_dir(tmp_path: Path):
    with (
        run_sandbox(data_dir=tmp_path) as first,
        httpx.Client(base_url=first.url, headers=AUTH) as client,
    ):
        definition = client.post("/api/projects/1/event_definitions/", json={"name": "kept"}).json()
        group = client.post(
            "/api/projects/1/schema_property_groups/",
            json={"name": "Kept", "properties": [{"name": "a", "property_type": "String"}]},
        ).json()
        schema = client.post(
            "/api/projects/1/event_schemas/",
            json={"event_definition": definition["id"], "property_group_id": group["id"]},
        ).json()

    assert (tmp_path / "sandbox.sqlite3").is_file()
    with (
        run_sandbox(data_dir=tmp_path) as second,
        httpx.Client(base_url=second.url, headers=AUTH) as client,
    ):
        schemas = client.get("/api/projects/1/event_schemas/").json()
        reloaded = client.get(f"/api/projects/1/schema_property_groups/{group['id']}/").json()

    assert [s["id"] for s in schemas["results"]] == [schema["id"]]
    assert schemas["results"][0]["property_group"] == reloaded
    assert reloaded["properties"] == group["properties"]
    assert [e["name"] for e in reloaded["events"]] == ["kept"]


def test_memory_storage_starts_empty_every_time():
    for _ in range(2):
        with run_sandbox() as running, httpx.Client(base_url=running.url, headers=AUTH) as client:
            assert client.get("/api/projects/1/schema_property_groups/").json()["count"] == 0
            client.post("/api/projects/1/schema_property_groups/", json={"name": "Temporary"})


# The demo seed loads a day of events into chDB, which runs one engine per process on one storage
# path; the in-memory sandboxes of the rest of the suite hold that engine, so this runs apart.
_SEEDED_TWICE = """
import sys
from pathlib import Path

import httpx
from eventschema_tools.sandbox import DEMO_API_KEY, run_sandbox

for _ in range(2):
    with run_sandbox(data_dir=Path(sys.argv[1]), seed="demo") as running:
        headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
        listed = httpx.get(f"{running.url}/api/projects/1/event_definitions/", headers=headers)
        print(listed.json()["count"])
"""


def test_demo_seed_is_loaded_once_into_a_data_dir(tmp_path: Path):
    ran = subprocess.run(
        [sys.executable, "-c", _SEEDED_TWICE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["30", "30"]
