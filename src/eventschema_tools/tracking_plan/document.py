"""A parsed YAML (or JSON) file that knows where each key and item sits in the text.

Reading is bounded: only regular files are read (a FIFO or a device is refused before it is
read from), and never more than :data:`MAX_FILE_BYTES`. Parsing is ``yaml.safe_load``-level
safe: tags that would build Python objects are refused, repeated keys in one mapping are errors
(YAML loaders silently keep the last one), keys are at most :data:`MAX_KEY_LENGTH` characters,
and what aliases add is capped. JSON text (a ``.json`` file, or text that is a JSON object) is
read as JSON. Problems are :class:`Problem` values with ``file:line:column`` and a hint, raised
together as :class:`PlanFileError`.
"""

from __future__ import annotations

import bisect
import functools
import gc
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from yaml.constructor import SafeConstructor

from eventschema_tools._files import MAX_INPUT_BYTES, RefusedFile, read_capped
from eventschema_tools.errors import EventSchemaError

__all__ = [
    "MAX_EXPANDED_NODES",
    "MAX_FILE_BYTES",
    "MAX_KEY_LENGTH",
    "PlanDocument",
    "PlanFileError",
    "Problem",
    "Severity",
    "gc_paused",
    "parse_document",
    "plan_format",
    "read_document",
    "read_plan_text",
]

MAX_FILE_BYTES = MAX_INPUT_BYTES
# What YAML aliases may add to a document, in nodes (an "alias bomb" would otherwise take
# exponential time and memory to validate). A plan without aliases never comes near it.
MAX_EXPANDED_NODES = 200_000
# YAML cannot read a plain key longer than this; JSON keys are held to the same limit, so a
# name is refused with the same words whatever the format. PostHog's names are far shorter.
MAX_KEY_LENGTH = 1024

Severity = Literal["error", "warning"]

_NAME_LIMITS: Final = "event and group names are at most 400 characters, property names 200"


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
        if len(errors) == 1:  # one line, which names the file itself
            super().__init__(str(errors[0]))
            return
        shown = "\n".join(f"  {problem}" for problem in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        where = errors[0].file if errors else "plan file"
        count = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}"
        super().__init__(f"{count} in {where}:\n{shown}{more}")


Path_ = tuple[Any, ...]
Position = tuple[int, int]


@dataclass(frozen=True)
class _Positions:
    marks: dict[Path_, Position]
    value_marks: dict[Path_, Position]


@dataclass
class PlanDocument:
    """A parsed plan file: its data and where each key and item sits in the text.

    Positions are worked out the first time one is needed (a valid plan needs none, and on a
    large plan finding them costs as much as parsing).

    Attributes:
        source: the file name used in messages.
        data: the parsed YAML/JSON value (normally a mapping).
        marks: for each path of keys and list indexes, its ``(line, column)``, both 1-based.
        value_marks: for each path to a scalar, the ``(line, column)`` of the value.
    """

    source: str
    data: Any
    index: Callable[[], _Positions] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def _positions(self) -> _Positions:
        if self.index is None:
            return _Positions({}, {})
        with gc_paused():
            return self.index()

    @property
    def marks(self) -> dict[Path_, Position]:
        """For each path of keys and list indexes, its ``(line, column)``, both 1-based."""
        return self._positions.marks

    @property
    def value_marks(self) -> dict[Path_, Position]:
        """For each path to a scalar value, the ``(line, column)`` of the value."""
        return self._positions.value_marks

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


# --- reading ---------------------------------------------------------------------------------


# How a refused plan file is reported, by the reader's reason (also the problem's code): the
# message, given what was found, and the fix.
_REFUSALS: Final = {
    "unreadable": ("cannot read the file: {}", "check the path given with --plan"),
    "not-a-file": (
        "{} is not a plan file: only regular files are read",
        "give the path of a YAML or JSON file",
    ),
    "too-large": (
        f"file is {{}}; plan files are limited to {MAX_FILE_BYTES} bytes",
        "split the plan into several files with different plan_id values",
    ),
}


def read_plan_text(path: str | Path) -> str:
    """The text of a plan file: a regular file of at most :data:`MAX_FILE_BYTES`, in UTF-8.

    The one reader of plan files (``plan``, ``apply``, ``pull --merge``, ``audit``, lint): a
    FIFO is never waited on and a device never read without end.

    Raises:
        PlanFileError: the file cannot be opened, is not a regular file, is too large, or is
            not UTF-8 text.
    """
    source = str(path)
    try:
        data = read_capped(path, MAX_FILE_BYTES)
    except RefusedFile as refused:
        message, hint = _REFUSALS[refused.reason]
        problem = Problem(
            source, None, None, message.format(refused.detail), hint=hint, code=refused.reason
        )
        raise PlanFileError([problem]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanFileError(
            [Problem(source, None, None, f"file is not UTF-8 text ({exc.reason})", code="encoding")]
        ) from None


def read_document(path: str | Path) -> PlanDocument:
    """Read and parse a plan file (YAML, or JSON) without validating it as a plan.

    Raises:
        PlanFileError: the file cannot be read, is not a regular file, is too large, or is not
            well-formed YAML/JSON.
    """
    return parse_document(read_plan_text(path), str(path))


def plan_format(text: str, source: str = "<plan>") -> Literal["yaml", "json"]:
    """``json`` for a ``.json`` file or text that is a JSON object; ``yaml`` otherwise."""
    if source.lower().endswith(".json"):
        return "json"
    if text.lstrip()[:1] != "{":
        return "yaml"
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return "yaml"
    return "json"


def parse_document(text: str, source: str = "<plan>") -> PlanDocument:
    """Parse plan text (YAML or JSON) into a :class:`PlanDocument`.

    JSON is read as JSON when ``source`` ends in ``.json`` or the text is a JSON object (YAML
    would read most of it alike, but not keys over 1,024 characters or ``1e3``).

    Raises:
        PlanFileError: the text is not well-formed, uses object-building tags or a value its
            tag cannot read, repeats a key, has a key over :data:`MAX_KEY_LENGTH` characters,
            nests too deeply, or expands aliases past a safe size.
    """
    if not text.strip():
        raise PlanFileError([_empty(source)])
    by_name = source.lower().endswith(".json")
    with gc_paused():
        if by_name or text.lstrip()[:1] == "{":
            doc = _parse_json(text, source, strict=by_name)
            if doc is not None:
                return doc
        return _parse_yaml(text, source)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a plan's millions of small objects are built.

    Each generation-2 collection walks everything built so far, which made reading and
    validating a large plan several times slower; nothing built here needs the collector to be
    freed (an alias cycle is freed by the next collection).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _empty(source: str) -> Problem:
    return Problem(
        source,
        1,
        1,
        "the file is empty",
        hint="start with 'version: 1' (see examples/tracking-plan.yaml)",
        code="empty",
    )


def _too_deep(source: str, line: int | None = None, column: int | None = None) -> Problem:
    return Problem(
        source,
        line,
        column,
        "the document is nested too deeply to read",
        hint="plans need a few levels of nesting; check for runaway brackets",
        code="too-deep",
    )


def _long_key(source: str, line: int | None, column: int | None, length: int) -> Problem:
    return Problem(
        source,
        line,
        column,
        f"name too long ({length} > {MAX_KEY_LENGTH} characters)",
        hint=_NAME_LIMITS,
        code="invalid-name",
    )


# --- JSON ------------------------------------------------------------------------------------


class _JsonFlags:
    """What the object hook saw that needs positions: a repeated key, a key too long."""

    def __init__(self) -> None:
        self.needs_positions = False

    def pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        mapping = dict(pairs)
        if len(mapping) != len(pairs) or any(len(key) > MAX_KEY_LENGTH for key in mapping):
            self.needs_positions = True
        return mapping


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_json(text: str, source: str, *, strict: bool) -> PlanDocument | None:
    """Parse JSON; ``None`` when it is not JSON and ``strict`` is off (it may be YAML)."""
    flags = _JsonFlags()
    try:
        data = json.loads(text, object_pairs_hook=flags.pairs, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        if not strict:
            return None
        raise PlanFileError(
            [
                Problem(
                    source,
                    exc.lineno,
                    exc.colno,
                    f"not valid JSON: {exc.msg}",
                    hint="check the commas, brackets and quotes around this spot",
                    code="syntax",
                )
            ]
        ) from None
    except ValueError as exc:  # NaN or Infinity, or an integer too long to convert
        if not strict:
            return None
        raise PlanFileError(
            [Problem(source, None, None, f"not valid JSON: {exc}", code="syntax")]
        ) from None
    except RecursionError:
        raise PlanFileError([_too_deep(source)]) from None
    index = functools.partial(_json_positions, text, source, [])
    if flags.needs_positions:
        found: list[Problem] = []
        _json_positions(text, source, found)
        raise PlanFileError(found)
    return PlanDocument(source, data, index)


# A valid JSON text's tokens: a string, a bracket or separator, or a number/true/false/null.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]|[^\s{}\[\],:"]+', re.DOTALL)


@dataclass
class _JsonFrame:
    path: Path_
    is_object: bool
    index: int = 0
    seen: dict[str, int] = field(default_factory=dict)


def _json_positions(text: str, source: str, problems: list[Problem]) -> _Positions:
    """Where each key, item and value of (valid) JSON text is; repeated and over-long keys
    are added to ``problems``."""
    newlines = [match.start() for match in re.finditer("\n", text)]

    def position(offset: int) -> Position:
        line = bisect.bisect_left(newlines, offset)
        start = newlines[line - 1] + 1 if line else 0
        return line + 1, offset - start + 1

    marks: dict[Path_, Position] = {}
    values: dict[Path_, Position] = {}
    frames: list[_JsonFrame] = []
    target: Path_ = ()
    expect = "value"
    for match in _JSON_TOKEN.finditer(text):
        token, offset = match.group(), match.start()
        first = token[0]
        if expect == "colon":
            expect = "value"
        elif expect == "key" and first == '"':
            frame = frames[-1]
            key = json.loads(token)
            target = (*frame.path, key)
            line, column = position(offset)
            if key in frame.seen:
                problems.append(_repeated_key(source, line, column, key, frame.seen[key]))
            else:
                frame.seen[key] = line
            if len(key) > MAX_KEY_LENGTH:
                problems.append(_long_key(source, line, column, len(key)))
            marks.setdefault(target, (line, column))
            expect = "colon"
        elif expect == "value" and first not in "]}":
            marks.setdefault(target, position(offset))
            if first == "{":
                frames.append(_JsonFrame(target, is_object=True))
                expect = "key"
            elif first == "[":
                frames.append(_JsonFrame(target, is_object=False))
                target = (*target, 0)
            else:
                values[target] = position(offset)
                expect = "next"
        elif first == ",":
            frame = frames[-1]
            if frame.is_object:
                expect = "key"
            else:
                frame.index += 1
                target = (*frame.path, frame.index)
                expect = "value"
        else:  # a closing bracket, also of an empty object or list
            frames.pop()
            expect = "next"
    return _Positions(marks, values)


def _repeated_key(source: str, line: int, column: int, key: str, first: int) -> Problem:
    return Problem(
        source,
        line,
        column,
        f"key {key!r} appears twice in the same mapping (first on line {first}); "
        "YAML would silently keep only the last one",
        hint="merge the two entries into one",
        code="duplicate-key",
    )


# --- YAML ------------------------------------------------------------------------------------


@functools.cache
def _loader_class() -> Any:
    """libyaml's safe loader, about fifteen times faster than PyYAML's own, when it is there and
    caps nesting (it then reports runaway brackets instead of overflowing the C stack)."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        return yaml.SafeLoader
    probe = fast("[" * 2000 + "]" * 2000)
    try:
        probe.get_single_node()
    except yaml.YAMLError:
        return fast
    finally:
        probe.dispose()
    return yaml.SafeLoader


def _parse_yaml(text: str, source: str) -> PlanDocument:
    loader_class = _loader_class()
    fast = loader_class is not yaml.SafeLoader
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as exc:
        raise PlanFileError([_reader_problem(exc, text, source, fast)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise PlanFileError([_empty(source)])
        problems, shared = _node_problems(loader, node, source)
        if problems:
            raise PlanFileError(problems)
        if shared:
            _check_expansion(node, source)
        data = loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        raise PlanFileError([_reader_problem(exc, text, source, fast)]) from None
    except yaml.MarkedYAMLError as exc:
        raise PlanFileError([_yaml_problem(exc, text, source)]) from None
    except yaml.YAMLError as exc:
        raise PlanFileError([Problem(source, None, None, str(exc), code="syntax")]) from None
    except RecursionError:
        raise PlanFileError([_too_deep(source)]) from None
    finally:
        loader.dispose()
    return PlanDocument(source, data, functools.partial(_yaml_positions, node))


def _reader_problem(exc: yaml.reader.ReaderError, text: str, source: str, fast: bool) -> Problem:
    """A character YAML does not allow (control characters, NUL), at its line and column."""
    position = exc.position
    if fast:  # libyaml counts UTF-8 bytes, PyYAML characters
        position = len(text.encode("utf-8")[: max(0, position)].decode("utf-8", "ignore"))
    position = max(0, min(position, len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    # The offending character comes as its code point (an int) for text input.
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
    return Problem(
        source,
        line,
        column,
        f"character #x{code:04x} is not allowed in YAML",
        hint='remove it, or write it as an escape such as "\\t" inside double quotes',
        code="syntax",
    )


def _yaml_problem(exc: yaml.MarkedYAMLError, text: str, source: str) -> Problem:
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
    if "nesting depth" in problem:
        return _too_deep(source, line, column)
    before, at = _around(text, exc.problem_mark)
    # YAML reads a key of at most 1024 characters: past that its scanner never finds the ':'.
    raw = re.split(r"[{,\[]", before)[-1]
    key = re.sub(r"^\s*(?:[-?]\s+)*", "", raw).strip().strip("'\"")
    if len(key) > MAX_KEY_LENGTH:
        start = len(before) - len(raw.lstrip()) + 1
        return _long_key(source, line, start, len(key))
    hint = "check indentation and quoting around this spot"
    if "\t" in problem or "'\\t'" in problem or at == "\t":
        hint = "indent with spaces, not tabs"
    return Problem(source, line, column, f"not valid YAML: {problem}", hint, "syntax")


def _around(text: str, mark: yaml.Mark | None) -> tuple[str, str]:
    """The text of the mark's line before the mark, and the character at the mark."""
    if mark is None:
        return "", ""
    lines = text.split("\n", mark.line + 1)
    here = lines[mark.line] if mark.line < len(lines) else ""
    return here[: mark.column], here[mark.column : mark.column + 1]


_UNCONSTRUCTED_TAGS = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})
_STR_TAG = "tag:yaml.org,2002:str"
_CORE_TAG_PREFIX = "tag:yaml.org,2002:"
_PYTHON_TAG_PREFIX = "tag:yaml.org,2002:python/"


def _node_problems(
    loader: SafeConstructor, node: yaml.Node, source: str
) -> tuple[list[Problem], bool]:
    """Repeated and over-long keys in a mapping, scalars their tag cannot read (``!!int x``),
    and whether any node is reached twice (through an alias)."""
    problems: list[Problem] = []
    stack = [node]
    visited: set[int] = set()
    shared = False
    while stack:
        current = stack.pop()
        if id(current) in visited:
            shared = True
            continue
        visited.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            if current.tag != _STR_TAG:  # text needs no check: it always reads as text
                problem = _unreadable_scalar(loader, current, source)
                if problem is not None:
                    problems.append(problem)
        elif isinstance(current, yaml.MappingNode):
            problems += _foreign_collection_tag(current, source)
            problems += _key_problems(current, source)
            for key, value in current.value:
                stack.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            problems += _foreign_collection_tag(current, source)
            stack.extend(current.value)
    return problems, shared


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
    loader: SafeConstructor, node: yaml.ScalarNode, source: str
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


def _key_problems(node: yaml.MappingNode, source: str) -> Iterator[Problem]:
    """Repeated keys in one mapping (YAML loaders silently keep the last one), and keys too
    long to be names (only an explicit ``? key`` can be, in YAML)."""
    first_seen: dict[tuple[str, str], yaml.Node] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        if len(key.value) > MAX_KEY_LENGTH:
            yield _long_key(source, *_position(key), len(key.value))
        identity = (key.tag, key.value)
        if identity in first_seen:
            first = first_seen[identity].start_mark.line + 1
            yield _repeated_key(source, *_position(key), key.value, first)
        else:
            first_seen[identity] = key


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases add more than :data:`MAX_EXPANDED_NODES` nodes, or
    that contains itself, before anything walks it expanded."""
    ceiling = 10**12  # sizes past any cap stay small numbers
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    worst: tuple[int, yaml.Node] = (0, root)
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            open_nodes.discard(key)
            size[key] = min(ceiling, 1 + sum(size[id(child)] for child in children))
            continue
        if key in size:
            worst = max(worst, (size[key], node), key=lambda pair: pair[0])
            continue
        if key in open_nodes:
            raise PlanFileError([_expansion_problem(source, node, "refers to itself")])
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children)
    added = size[id(root)] - len(size)
    if added > MAX_EXPANDED_NODES:
        raise PlanFileError(
            [_expansion_problem(source, worst[1], f"adds more than {MAX_EXPANDED_NODES} nodes")]
        )


def _expansion_problem(source: str, node: yaml.Node, what: str) -> Problem:
    line, column = _position(node)
    return Problem(
        source,
        line,
        column,
        f"the value anchored here is repeated through YAML aliases (*name), and the document "
        f"{what} once they are written out",
        hint="write the values out instead of repeating them with aliases",
        code="too-large",
    )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _position(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _yaml_positions(root: yaml.Node) -> _Positions:
    """Where each key, item and scalar value of a composed YAML document is."""
    constructor = SafeConstructor()
    marks: dict[Path_, Position] = {}
    values: dict[Path_, Position] = {}
    stack: list[tuple[yaml.Node, Path_]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        marks.setdefault(path, _position(node))
        if isinstance(node, yaml.ScalarNode):
            values[path] = _position(node)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in reversed(node.value):
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = _key_value(constructor, key_node)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    continue
                child = (*path, key)
                marks[child] = _position(key_node)
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            for index in range(len(node.value) - 1, -1, -1):
                item = node.value[index]
                child = (*path, index)
                marks[child] = _position(item)
                stack.append((item, child))
    return _Positions(marks, values)


def _key_value(constructor: SafeConstructor, node: yaml.ScalarNode) -> Any:
    if node.tag == _STR_TAG:
        return node.value
    try:
        return constructor.construct_object(node)
    except (ValueError, TypeError, AttributeError, OverflowError, KeyError, yaml.YAMLError):
        return None
