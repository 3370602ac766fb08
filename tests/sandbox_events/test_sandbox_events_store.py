"""Where events live: one database per in-memory sandbox, files under a data directory."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from sandbox_events_helpers import rows, send_batch

from eventschema_tools.sandbox import create_app

pytestmark = pytest.mark.anyio


async def test_sandboxes_in_one_process_each_see_only_their_own_events() -> None:
    first, second = create_app(), create_app()
    try:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a") as a,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b") as b,
        ):
            await send_batch(a, [{"event": "only_in_first", "distinct_id": "u"}])
            await send_batch(b, [{"event": "only_in_second", "distinct_id": "u"}] * 2)
            seen_by_first = await rows(a, "SELECT event, count() FROM events GROUP BY event")
            seen_by_second = await rows(b, "SELECT event, count() FROM events GROUP BY event")
    finally:
        first.sandbox.close()
        second.sandbox.close()

    assert seen_by_first == [["only_in_first", 1]]
    assert seen_by_second == [["only_in_second", 2]]


# chDB binds one storage path per process, so the data-directory run gets a process of its own.
_RESTART_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import anyio
    import httpx
    from eventschema_tools.sandbox import create_app
    from eventschema_tools.sandbox.events.store import EventStore, EventStoreUnavailableError

    data_dir = Path(sys.argv[1])
    query = {"query": {"kind": "HogQLQuery", "query": "SELECT event FROM events"}}
    auth = {"Authorization": "Bearer phx_sandbox_demo_key"}

    app = create_app(data_dir=data_dir)

    async def capture_then_query(app, send):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            if send:
                event = {"event": "kept", "distinct_id": "u"}
                body = {"api_key": "phc_sandbox_demo", "batch": [event]}
                assert (await client.post("/batch/", json=body)).status_code == 200
            answer = await client.post("/api/projects/1/query/", json=query, headers=auth)
            return answer.json()["results"]

    print(anyio.run(capture_then_query, app, True))
    app.sandbox.close()
    restarted = create_app(data_dir=data_dir)
    print(anyio.run(capture_then_query, restarted, False))
    try:
        EventStore().count_events(1)
    except EventStoreUnavailableError as error:
        print("refused:", "one engine per process" in str(error))
    restarted.sandbox.close()
    """
)


def test_events_under_a_data_dir_survive_a_restart(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", _RESTART_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == [
        "[['kept']]",
        "[['kept']]",
        "refused: True",
    ]
    assert (tmp_path / "clickhouse").is_dir()
