"""A parsed YAML (or JSON) file that knows where each key and item sits in the text.

Parsing is ``yaml.safe_load``-level safe: tags that would build Python objects are refused,
repeated keys in one mapping are errors (YAML loaders silently keep the last one), and alias
expansion is capped. Problems are :class:`Problem` values with ``file:line:column`` and a hint,
raised together as :class:`PlanFileError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from eventschema_tools.errors import EventSchemaError

__all__ = [
    "MAX_EXPANDED_NODES",
    "MAX_FILE_BYTES",
    "PlanDocument",
    "PlanFileError",
    "Problem",
    "Severity",
    "parse_document",
    "read_document",
]

MAX_FILE_BYTES = 10 * 1024 * 1024
# A document whose aliases expand past this many nodes is refused (an "alias bomb" would
# otherwise take exponential time and memory to validate).
MAX_EXPANDED_NODES = 200_000

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding in a plan file, with where it is and how to fix it.

    Attributes:
        file: the file name as given.
        line: 1-based line, when known.
        column: 1-based column, when known.
        message: what is wrong.
        hint: how to fix it ("" when the message says it all).
        code: a stable identifier such as ``unknown-type`` (for filtering in CI).
        severity: ``error`` (the plan is unusable, or lint fails) or ``warning``.
    """

    file: str
    line: int | None
    column: int | None
    message: str
    hint: str = ""
    code: str = "invalid"
    severity: Severity = "error"

    @property
    def location(self) -> str:
        """``file:line:column`` (as much of it as is known)."""
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity} [{self.code}] {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def as_dict(self) -> dict[str, Any]:
        """The problem as JSON-ready data."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


class PlanFileError(EventSchemaError):
    """A plan file that cannot be used: unreadable, not YAML/JSON, or not a valid plan.

    Attributes:
        problems: every error found, each with file, line, column and a hint.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"] or self.problems
        shown = "\n".join(f"  {problem}" for problem in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        where = errors[0].file if errors else "plan file"
        count = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}"
        super().__init__(f"{count} in {where}:\n{shown}{more}")


Path_ = tuple[Any, ...]


@dataclass
class PlanDocument:
    """A parsed plan file: its data and where each key and item sits in the text.

    Attributes:
        source: the file name used in messages.
        data: the parsed YAML/JSON value (normally a mapping).
        marks: for each path of keys and list indexes, its ``(line, column)``, both 1-based.
    """

    source: str
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    value_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def locate(
        self, path: Sequence[Any], *, at_value: bool = False
    ) -> tuple[int | None, int | None]:
        """The position of ``path`` (its key, or with ``at_value`` its scalar value), or of its
        closest ancestor that exists in the text."""
        items = tuple(path)
        if at_value and items in self.value_marks:
            return self.value_marks[items]
        while items:
            if items in self.marks:
                return self.marks[items]
            items = items[:-1]
        return self.marks.get((), (None, None))

    def problem(
        self,
        path: Sequence[Any],
        message: str,
        *,
        hint: str = "",
        code: str = "invalid",
        severity: Severity = "error",
        at_value: bool = False,
    ) -> Problem:
        """A :class:`Problem` positioned at ``path`` (at its value with ``at_value``)."""
        line, column = self.locate(path, at_value=at_value)
        return Problem(self.source, line, column, message, hint, code, severity)


def read_document(path: str | Path) -> PlanDocument:
    """Read and parse a plan file (YAML, or JSON) without validating it as a plan.

    Raises:
        PlanFileError: the file cannot be read or is not well-formed YAML/JSON.
    """
    source = str(path)
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise PlanFileError(
                [
                    Problem(
                        source,
                        None,
                        None,
                        f"file is {size} bytes; plan files are limited to {MAX_FILE_BYTES}",
                        hint="split the plan into several files with different plan_id values",
                        code="too-large",
                    )
                ]
            )
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanFileError(
            [Problem(source, None, None, f"file is not UTF-8 text ({exc.reason})", code="encoding")]
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise PlanFileError(
            [
                Problem(
                    source,
                    None,
                    None,
                    f"cannot read the file: {reason}",
                    hint="check the path given with -f",
                    code="unreadable",
                )
            ]
        ) from None
    return parse_document(text, source)


def parse_document(text: str, source: str = "<plan>") -> PlanDocument:
    """Parse plan text (YAML or JSON) into a :class:`PlanDocument`.

    Raises:
        PlanFileError: the text is not well-formed, uses object-building tags or a value its
            tag cannot read, repeats a key, nests too deeply, or expands aliases past a safe
            size.
    """
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        raise PlanFileError([_reader_problem(exc, text, source)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise PlanFileError(
                [
                    Problem(
                        source,
                        1,
                        1,
                        "the file is empty",
                        hint="start with 'version: 1' (see examples/tracking-plan.yaml)",
                        code="empty",
                    )
                ]
            )
        problems = list(_node_problems(loader, node, source))
        if problems:
            raise PlanFileError(problems)
        data = loader.construct_document(node)
        doc = PlanDocument(source, data)
        _collect_marks(loader, node, (), doc, [0])
    except yaml.reader.ReaderError as exc:
        raise PlanFileError([_reader_problem(exc, text, source)]) from None
    except yaml.MarkedYAMLError as exc:
        raise PlanFileError([_yaml_problem(exc, source)]) from None
    except yaml.YAMLError as exc:
        raise PlanFileError([Problem(source, None, None, str(exc), code="syntax")]) from None
    except RecursionError:
        raise PlanFileError(
            [
                Problem(
                    source,
                    None,
                    None,
                    "the document is nested too deeply to read",
                    hint="plans need a few levels of nesting; check for runaway brackets",
                    code="too-deep",
                )
            ]
        ) from None
    finally:
        loader.dispose()
    return doc


def _reader_problem(exc: yaml.reader.ReaderError, text: str, source: str) -> Problem:
    """A character YAML does not allow (control characters, NUL), at its line and column."""
    position = max(0, min(exc.position, len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    # PyYAML gives the offending character as its code point (an int) for text input.
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
    return Problem(
        source,
        line,
        column,
        f"character #x{code:04x} is not allowed in YAML",
        hint='remove it, or write it as an escape such as "\\t" inside double quotes',
        code="syntax",
    )


def _yaml_problem(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    problem = exc.problem or exc.context or "not valid YAML"
    if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in problem:
        return Problem(
            source,
            line,
            column,
            f"refused tag: {problem}",
            hint="plan files are plain data; remove the '!!' tag",
            code="unsafe-tag",
        )
    hint = "check indentation and quoting around this spot"
    if "\t" in problem or "'\\t'" in problem:
        hint = "indent with spaces, not tabs"
    return Problem(source, line, column, f"not valid YAML: {problem}", hint, "syntax")


_UNCONSTRUCTED_TAGS = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})
_CORE_TAG_PREFIX = "tag:yaml.org,2002:"
_PYTHON_TAG_PREFIX = "tag:yaml.org,2002:python/"


def _node_problems(loader: yaml.SafeLoader, node: yaml.Node, source: str) -> Iterator[Problem]:
    """Repeated keys in one mapping, and scalars their tag cannot read (``!!int x``)."""
    stack = [node]
    visited: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in visited:
            continue
        visited.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            problem = _unreadable_scalar(loader, current, source)
            if problem is not None:
                yield problem
        elif isinstance(current, yaml.MappingNode):
            yield from _foreign_collection_tag(current, source)
            yield from _repeated_keys(current, source)
            for key, value in current.value:
                stack.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            yield from _foreign_collection_tag(current, source)
            stack.extend(current.value)


def _foreign_collection_tag(node: yaml.Node, source: str) -> Iterator[Problem]:
    """A Python or local tag on a mapping or sequence.

    Constructing such a node fails anyway, but YAML merges the mapping of a ``<<:`` key without
    constructing it, so ``<<: !!python/object/apply:... {}`` would pass silently.
    """
    if node.tag.startswith(_CORE_TAG_PREFIX) and not node.tag.startswith(_PYTHON_TAG_PREFIX):
        return
    line, column = _position(node)
    yield Problem(
        source,
        line,
        column,
        f"refused tag: {node.tag}",
        hint="plan files are plain data; remove the '!!' tag",
        code="unsafe-tag",
    )


def _unreadable_scalar(
    loader: yaml.SafeLoader, node: yaml.ScalarNode, source: str
) -> Problem | None:
    if node.tag in _UNCONSTRUCTED_TAGS:
        return None
    try:
        loader.construct_object(node)
    except (ValueError, TypeError, AttributeError, OverflowError, KeyError):
        line, column = _position(node)
        tag = node.tag.rsplit(":", 1)[-1]
        return Problem(
            source,
            line,
            column,
            f"{node.value!r} cannot be read as {tag}",
            hint=f"remove the '!!{tag}' tag, or write a valid {tag}",
            code="bad-tagged-value",
        )
    return None


def _repeated_keys(node: yaml.MappingNode, source: str) -> Iterator[Problem]:
    """Repeated keys in one mapping (YAML loaders silently keep the last one)."""
    first_seen: dict[tuple[str, str], yaml.Node] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        identity = (key.tag, key.value)
        if identity in first_seen:
            first = first_seen[identity].start_mark.line + 1
            yield Problem(
                source,
                key.start_mark.line + 1,
                key.start_mark.column + 1,
                f"key {key.value!r} appears twice in the same mapping (first on line {first}); "
                "YAML would silently keep only the last one",
                hint="merge the two entries into one",
                code="duplicate-key",
            )
        else:
            first_seen[identity] = key


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _collect_marks(
    loader: yaml.SafeLoader, node: yaml.Node, path: Path_, doc: PlanDocument, budget: list[int]
) -> None:
    budget[0] += 1
    if budget[0] > MAX_EXPANDED_NODES:
        raise PlanFileError(
            [
                Problem(
                    doc.source,
                    node.start_mark.line + 1,
                    node.start_mark.column + 1,
                    f"the document expands to more than {MAX_EXPANDED_NODES} nodes",
                    hint="plans rarely need YAML aliases; write the values out",
                    code="too-large",
                )
            ]
        )
    doc.marks.setdefault(path, _position(node))
    if isinstance(node, yaml.ScalarNode):
        doc.value_marks[path] = _position(node)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = loader.construct_object(key_node)
            if not isinstance(key, str | int | float | bool) and key is not None:
                continue
            child = (*path, key)
            doc.marks[child] = _position(key_node)
            _collect_marks(loader, value_node, child, doc, budget)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            doc.marks[child] = _position(item)
            _collect_marks(loader, item, child, doc, budget)
