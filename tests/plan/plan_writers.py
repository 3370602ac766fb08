"""Other writers for the concurrency tests: plans to seed a project, and writers that act at
chosen requests of the run under test (async hooks, or a thread in lock-step with the run).

Acting at a request, rather than after a delay, makes each interleaving happen every time.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import httpx
from plan_test_helpers import Recorded

SCHEMAS_PATH = "/api/projects/1/event_schemas/"
GROUPS_PATH = "/api/projects/1/schema_property_groups/"
EVENTS_PATH = "/api/projects/1/event_definitions/"

# The plan that prunes: it owns group `g` and lists none of its bindings.
PRUNE = "version: 1\nplan_id: web\nproperty_groups:\n  g: {properties: {id: {type: String}}}\n"


def bound_plan(plan_id: str, group: str, events: list[str]) -> str:
    """A plan owning ``group``, bound to each of ``events`` (apply with ``create_events``)."""
    lines = [
        "version: 1",
        f"plan_id: {plan_id}",
        "property_groups:",
        f"  {group}: {{properties: {{id: {{type: String}}}}}}",
        "events:",
    ]
    lines += [f"  {event}: {{groups: [{group}]}}" for event in events]
    return "\n".join(lines) + "\n"


def targets(count: int) -> list[str]:
    """Names of the events whose binding to ``g`` a prune deletes."""
    return [f"t{i:03d}" for i in range(count)]


def noise(count: int) -> list[str]:
    """Names of the events bound to ``noise`` (another plan's group: never pruned)."""
    return [f"n{i:03d}" for i in range(count)]


def later_page(path: str) -> Callable[[httpx.Request], bool]:
    """Picks the GET requests for the second and later pages of the list at ``path``."""
    return lambda r: r.method == "GET" and r.url.path == path and "offset" in r.url.params


def before_each(
    live: Recorded, wanted: Callable[[httpx.Request], bool], act: Callable[[], Awaitable[object]]
) -> list[str]:
    """Run ``act`` (another writer) just before every request of ``live`` that ``wanted`` picks.

    Returns:
        The paths (with query) of the requests it acted before, filled in as the run goes.
    """
    seen: list[str] = []

    async def meanwhile(request: httpx.Request) -> None:
        if wanted(request):
            seen.append(f"{request.url.path}?{request.url.query.decode()}")
            await act()

    live.http.event_hooks = {"request": [*live.http.event_hooks["request"], meanwhile]}
    return seen


@contextmanager
def writer_thread(act: Callable[[], object]) -> Iterator[Callable[[httpx.Request], None]]:
    """A writer thread that runs ``act`` once each time the returned hook is called, while the
    caller's request waits: give the hook to the run's ``httpx.Client`` event hooks."""
    turns: queue.Queue[threading.Event | None] = queue.Queue()
    failures: list[BaseException] = []

    def work() -> None:
        while (done := turns.get()) is not None:
            try:
                act()
            except BaseException as exc:  # reported by the test thread below
                failures.append(exc)
            done.set()

    thread = threading.Thread(target=work, name="other-writer", daemon=True)
    thread.start()

    def hook(_: httpx.Request) -> None:
        done = threading.Event()
        turns.put(done)
        done.wait()

    try:
        yield hook
    finally:
        turns.put(None)
        thread.join()
    if failures:
        raise failures[0]
