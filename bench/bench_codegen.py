"""Benchmark of ``eventschema codegen``: the time to generate against reading the plan itself.

* **The example plan** (13 events): reading the plan file and generating both languages, against
  the goal of one second.
* **A 2,000-event plan** (200 groups of 8 properties, 3 groups an event, enums, bounds and
  patterns): generating each language against reading and validating the same plan from its
  YAML text (``parse_plan``), the step every command starts with. Rounds interleaved, medians.

Run alone with ``python -m bench.bench_codegen``; ``make bench`` collects ``run()``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from eventschema_tools.codegen import generate_code
from eventschema_tools.tracking_plan.file import load_plan, parse_plan

Row = dict[str, Any]

EXAMPLE_PLAN = Path(__file__).resolve().parent.parent / "examples" / "tracking-plan.yaml"
ROUNDS = 5
EVENTS = 2000
GROUPS = 200
PROPERTIES = 8
GROUPS_PER_EVENT = 3


def large_plan_text() -> str:
    """A plan of :data:`EVENTS` events over :data:`GROUPS` groups, as YAML."""
    kinds = ["String", "Numeric", "Boolean", "DateTime", "Object"]
    groups: dict[str, Any] = {}
    for g in range(GROUPS):
        properties: dict[str, Any] = {}
        for p in range(PROPERTIES):
            kind = kinds[(g + p) % len(kinds)]
            spec: dict[str, Any] = {"type": kind, "required": p % 3 == 0, "description": f"p{p}"}
            if kind == "String" and p % 2:
                spec["rules"] = {"enum": [f"v{k}" for k in range(5)]}
            elif kind == "String":
                spec["rules"] = {"pattern": "^[a-z0-9-]+$"}
            elif kind == "Numeric":
                spec["rules"] = {"min": 0, "max": 1000 + p}
            properties[f"group{g}_prop{p}"] = spec
        groups[f"group_{g}"] = {"description": f"Group {g}", "properties": properties}
    events = {
        f"event_{e}": {
            "groups": [f"group_{(e + k * 7) % GROUPS}" for k in range(GROUPS_PER_EVENT)],
            "description": f"Event {e}",
        }
        for e in range(EVENTS)
    }
    return yaml.safe_dump(
        {"version": 1, "plan_id": "bench", "property_groups": groups, "events": events},
        sort_keys=False,
    )


def _interleaved(variants: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median seconds of each variant, run round by round."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, variant in variants.items():
            started = time.perf_counter()
            variant()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def run() -> list[Row]:
    """The rows: the example plan against one second, the large plan against reading it."""

    def example() -> None:
        plan = load_plan(EXAMPLE_PLAN)
        generate_code(plan, language="typescript")
        generate_code(plan, language="python")

    text = large_plan_text()
    plan = parse_plan(text, "<bench>")
    sizes = {
        lang: len(generate_code(plan, language=lang).files[_module(lang)].encode())
        for lang in ("typescript", "python")
    }
    medians = _interleaved(
        {
            "example": example,
            "read": lambda: parse_plan(text, "<bench>"),
            "typescript": lambda: generate_code(plan, language="typescript"),
            "python": lambda: generate_code(plan, language="python"),
        }
    )
    rows = [
        {
            "metric": "seconds to generate TypeScript and Python, 13-event example plan",
            "bound_or_anchor": 1.0,
            "ours": round(medians["example"], 4),
            "ratio": round(medians["example"], 4),
            "notes": f"goal: under 1 s; reading the plan file included; median of {ROUNDS} rounds",
        }
    ]
    for lang in ("typescript", "python"):
        rows.append(
            {
                "metric": f"seconds to generate {lang}, {EVENTS:,}-event plan",
                "bound_or_anchor": round(medians["read"], 3),
                "ours": round(medians[lang], 3),
                "ratio": round(medians[lang] / medians["read"], 2),
                "notes": f"anchor: reading and validating the same plan from YAML text "
                f"(parse_plan); {GROUPS} groups x {PROPERTIES} properties, "
                f"{GROUPS_PER_EVENT} groups an event; module {sizes[lang] / 1e6:.1f} MB; "
                f"medians of {ROUNDS} interleaved rounds",
            }
        )
    return rows


def _module(language: str) -> str:
    return "posthog-typed.ts" if language == "typescript" else "posthog_typed.py"


if __name__ == "__main__":
    from bench import print_rows

    print_rows(run())
