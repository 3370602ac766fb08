"""Generated TypeScript compiles under ``tsc --strict`` against the real SDKs' declarations, and
its types refuse what the plan refuses (each ``@ts-expect-error`` line must be an error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from codegen_helpers import awkward_plan, compile_typescript, example_plan, typescript_folder

from eventschema_tools.codegen import generate_code

JS_USAGE = """\
import {
  captureEvent,
  captureSubscriptionStarted,
  captureUserLoggedIn,
  captureViolation,
  configureChecks,
  logViolation,
  type EventName,
  type EventProperties,
  type WorkspaceContextGroup,
} from './posthog-typed'

captureSubscriptionStarted({ plan: 'team', billing_period: 'annual', amount: 49, currency: 'EUR' })
captureSubscriptionStarted(
  { plan: 'team', billing_period: 'annual', amount: 49, currency: 'EUR', line_items: [] },
  { send_instantly: true },
)
captureUserLoggedIn()
captureUserLoggedIn({ workspace_plan: 'free', seats: 3 })
captureEvent('user_signed_up', { signup_method: 'github', is_invited: false })
const group: WorkspaceContextGroup = { seats: 3, workspace_id: 'w1' }
const name: EventName = 'feature_used'
const props: EventProperties<'project_created'> = { project_id: 'p1', created_at: new Date() }
configureChecks({ enabled: true, onViolation: logViolation })
configureChecks({ onViolation: captureViolation() })
console.log(group, name, props)

// @ts-expect-error billing_period is monthly or annual
captureSubscriptionStarted({ plan: 'team', billing_period: 'weekly', amount: 49, currency: 'EUR' })
// @ts-expect-error amount is required
captureSubscriptionStarted({ plan: 'team', billing_period: 'annual', currency: 'EUR' })
// @ts-expect-error amount is a number
captureSubscriptionStarted({ plan: 'team', billing_period: 'annual', amount: '9', currency: 'EUR' })
// @ts-expect-error a misspelt property
captureUserLoggedIn({ workspace_plann: 'free' })
// @ts-expect-error an event the plan does not have
captureEvent('user_signed_upp', {})
// @ts-expect-error properties of another event
captureEvent('user_signed_up', { project_id: 'p1' })
"""

NODE_USAGE = """\
import { PostHog } from 'posthog-node'
import { captureEvent, captureSubscriptionStarted, captureUserLoggedIn } from './posthog-typed'

const client = new PostHog('phc_token', { host: 'http://127.0.0.1:1' })
captureSubscriptionStarted(client, {
  distinctId: 'u1',
  properties: { plan: 'team', billing_period: 'annual', amount: 49, currency: 'EUR' },
  groups: { company: 'acme' },
})
captureUserLoggedIn(client, { distinctId: 'u1' })
captureEvent(client, 'user_signed_up', {
  distinctId: 'u1',
  properties: { signup_method: 'saml', is_invited: true },
})

// @ts-expect-error properties are required when the event has required properties
captureSubscriptionStarted(client, { distinctId: 'u1' })
// @ts-expect-error a value outside the enum
captureUserLoggedIn(client, { distinctId: 'u1', properties: { user_role: 'root' } })
"""


def _generate(folder: Path, sdk: str, usage: str | None = None, *, awkward: bool = False) -> None:
    plan = awkward_plan() if awkward else example_plan()
    generate_code(plan, language="typescript", sdk=sdk).write(folder)
    if usage is not None:
        (folder / "usage.ts").write_text(usage, encoding="utf-8")


@pytest.mark.parametrize(("sdk", "usage"), [("posthog-js", JS_USAGE), ("posthog-node", NODE_USAGE)])
def test_generated_typescript_compiles_and_refuses_what_the_plan_refuses(
    sdk: str, usage: str
) -> None:
    with typescript_folder() as folder:
        _generate(folder, sdk, usage)
        result = compile_typescript(folder)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("sdk", ["posthog-js", "posthog-node"])
def test_awkward_names_compile(sdk: str) -> None:
    with typescript_folder() as folder:
        _generate(folder, sdk, awkward=True)
        text = (folder / "posthog-typed.ts").read_text(encoding="utf-8")
        result = compile_typescript(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    for helper in ("capturePageview", "captureCheckoutCompleted", "captureApiRequest"):
        assert f"export function {helper}(" in text
    # "api_request" comes out as the same name and is numbered; "class" is reserved.
    assert "export function captureApiRequest2(" in text
    assert "export function captureClass(" in text
    assert '"$pageview": {' in text


def test_a_type_error_in_use_is_reported() -> None:
    # The check above could pass by compiling nothing: a plain mistake must fail it.
    with typescript_folder() as folder:
        usage = "import { captureUserLoggedIn } from './posthog-typed'\n"
        _generate(folder, "posthog-js", usage + "captureUserLoggedIn({ seats: 'three' })\n")
        result = compile_typescript(folder)
    assert result.returncode != 0
    assert "usage.ts(2,23): error TS2322" in result.stdout
