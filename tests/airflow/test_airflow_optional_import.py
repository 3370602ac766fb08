"""Airflow stays optional: the core works, and the adapter says how to install Airflow.

Each check runs in a fresh interpreter whose import system refuses ``airflow`` (as if it were not
installed; one check refuses a dependency of Airflow instead), so the Airflow the test session
already imported cannot hide a dependency.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from typing import Any

import pytest

_BLOCKER = textwrap.dedent(
    """
    import sys
    from importlib.abc import MetaPathFinder

    class _Missing(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] == {package!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, _Missing())
    try:
        import {package}
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit("the blocker failed: {package} was imported")
    """
)
_WITHOUT_AIRFLOW = _BLOCKER.format(package="airflow")

_INSTALL_HINT = "pip install 'eventschema-tools[airflow]'"
_ADAPTER_MODULES = ["hooks", "operators", "sensors", "links", "plugin"]


def _run(script: str, *, block: str | None = "airflow") -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter that cannot import ``block`` (None: anything)."""
    blocker = _BLOCKER.format(package=block) if block else ""
    return subprocess.run(
        [sys.executable, "-c", blocker + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _error_lines(stderr: str) -> list[str]:
    """The lines of a traceback that name an exception (a chained one adds a second)."""
    return [
        line for line in stderr.splitlines() if re.match(r"^[A-Za-z_.]*(Error|Exception)", line)
    ]


def test_core_imports_and_works_without_airflow() -> None:
    result = _run(
        """
        import eventschema_tools
        from eventschema_tools import EventSchemaClient
        from eventschema_tools.sandbox import create_app
        import eventschema_tools.audit.run, eventschema_tools.tracking_plan.bulk
        import eventschema_tools.tracking_plan
        import eventschema_tools.audit.report, eventschema_tools.tracking_plan.file

        client = EventSchemaClient(api_key="phx_x", project_id=1, host="us")
        assert client.project_path("event_schemas") == "/api/projects/1/event_schemas/"
        assert not any(name.split(".")[0] == "airflow" for name in sys.modules)
        print("ok")
        """
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_importing_the_core_with_airflow_installed_does_not_import_it() -> None:
    result = _run(
        """
        import sys
        import eventschema_tools
        import eventschema_tools.airflow_plugin
        import eventschema_tools.airflow_plugin.provider_info
        print(sorted({name.split(".")[0] for name in sys.modules} & {"airflow", "mcp"}))
        """,
        block=None,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_provider_info_needs_no_airflow() -> None:
    result = _run(
        """
        import eventschema_tools.airflow_plugin
        from eventschema_tools.airflow_plugin.provider_info import get_provider_info
        print(get_provider_info()["connection-types"][0]["connection-type"])
        """
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "posthog"


@pytest.mark.parametrize("module", _ADAPTER_MODULES)
def test_adapter_without_airflow_fails_with_one_line_that_says_how_to_install_it(
    module: str,
) -> None:
    result = _run(f"import eventschema_tools.airflow_plugin.{module}")

    assert result.returncode == 1
    assert _error_lines(result.stderr) == [
        "ImportError: eventschema_tools.airflow_plugin needs Apache Airflow 3.3 or newer "
        f"(No module named 'airflow'): {_INSTALL_HINT}"
    ], result.stderr


def test_adapter_import_error_is_an_import_error_callers_can_catch() -> None:
    result = _run(
        """
        try:
            from eventschema_tools.airflow_plugin.operators import EventSchemaAuditOperator
        except ImportError as exc:
            print(type(exc).__name__, exc.__cause__, exc.__suppress_context__)
        """
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ImportError None True"


@pytest.mark.skipif(
    importlib.util.find_spec("airflow") is None, reason="needs Airflow installed, minus pendulum"
)
def test_airflow_missing_a_dependency_of_its_own_shows_that_error_not_the_hint() -> None:
    result = _run("import eventschema_tools.airflow_plugin.hooks", block="pendulum")

    assert result.returncode == 1
    assert _error_lines(result.stderr)[-1] == "ModuleNotFoundError: No module named 'pendulum'"
    assert _INSTALL_HINT not in result.stderr


def test_mcp_server_starts_and_lists_its_tools_without_airflow() -> None:
    mcp_types = pytest.importorskip("mcp.types", reason="the MCP server needs the mcp extra")
    script = _WITHOUT_AIRFLOW + textwrap.dedent(
        """
        from eventschema_tools.mcp_server.server import main
        try:
            main(["--read-only"])
        finally:
            assert not any(name.split(".")[0] == "airflow" for name in sys.modules)
        """
    )
    env = {
        **os.environ,
        "POSTHOG_PERSONAL_API_KEY": "phx_optional_import_test",
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_HOST": "http://127.0.0.1:9",
    }
    initialize = {
        "protocolVersion": mcp_types.LATEST_PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "optional-import-test", "version": "0"},
    }

    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as server:
        assert server.stdin is not None

        def ask(message: dict[str, object]) -> dict[str, Any]:
            assert server.stdin is not None
            assert server.stdout is not None
            server.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
            server.stdin.flush()
            return dict(json.loads(server.stdout.readline()))

        started = ask({"id": 1, "method": "initialize", "params": initialize})
        server.stdin.write('{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        listed = ask({"id": 2, "method": "tools/list"})
        server.stdin.close()
        stderr = server.stderr.read() if server.stderr else ""
        returncode = server.wait(timeout=30)

    assert returncode == 0, stderr
    assert started["result"]["serverInfo"]["name"]
    tools = listed["result"]["tools"]
    assert tools
    assert all(tool["annotations"]["readOnlyHint"] for tool in tools)
