"""Change a plan file's content in place, keeping its comments, order and layout.

:func:`rewrite_plan_text` takes the file's text, the plan it holds and the plan it should hold,
and edits only what differs: an unchanged group, property or event keeps its exact text
(comments, flow or block style, quoting, key order); a changed property gets only its changed
keys rewritten; entries that go are deleted and new ones are appended in the style
``dump_plan`` writes (one line per property, groups of an event as ``[a, b]``). Only
``plan_id``, ``property_groups`` and ``events`` are touched.

YAML goes through ruamel.yaml's round-trip mode (the one YAML library that keeps comments);
the result is read back with the plan loader and must give the intended plan, so a layout the
editor cannot keep is an error, never a silently different plan. JSON has no comments: it keeps
the file's key order and indentation.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, MutableMapping
from typing import Any, Literal

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.error import YAMLError as RuamelYAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from eventschema_tools.errors import EventSchemaError
from eventschema_tools.tracking_plan.file import (
    DEFAULT_PLAN_ID,
    EventSpec,
    PlanFileError,
    PropertyGroupSpec,
    PropertySpec,
    TrackingPlan,
    parse_plan,
    property_data,
)

__all__ = ["rewrite_plan_text"]

PlanFormat = Literal["yaml", "json"]
_PROPERTY_KEYS = ("type", "required", "optional_in_types", "description", "rules")
# Long lines stay long: re-wrapping would change lines the merge did not mean to touch.
_NO_WRAP = 1 << 16


def rewrite_plan_text(
    text: str, previous: TrackingPlan, merged: TrackingPlan, *, fmt: PlanFormat
) -> str:
    """``text`` (which holds ``previous``) edited to hold ``merged``, layout kept (pure).

    Raises:
        EventSchemaError: the text cannot be edited in place (it does not parse as a mapping,
            or the edited text would not read back as ``merged``); write a fresh file instead.
    """
    editor = _JsonEditor() if fmt == "json" else _YamlEditor()
    try:
        document = editor.load(text)
    except (ValueError, RuamelYAMLError) as exc:
        raise EventSchemaError(f"cannot edit the plan file in place: {exc}") from None
    if not isinstance(document, MutableMapping):
        raise EventSchemaError("cannot edit the plan file in place: it is not a mapping")
    _Sync(editor).plan(document, previous, merged)
    result = editor.dump(document)
    try:
        read_back = parse_plan(result)
    except PlanFileError as exc:
        raise EventSchemaError(f"editing the plan file in place would break it: {exc}") from None
    if read_back != merged:
        raise EventSchemaError(
            "editing the plan file in place would not give the pulled plan; write it fresh"
        )
    return result


class _YamlEditor:
    def __init__(self) -> None:
        self._yaml = YAML()
        self._yaml.preserve_quotes = True
        self._yaml.width = _NO_WRAP

    def load(self, text: str) -> Any:
        indent, offset = _guess_indent(text)
        self._yaml.indent(mapping=indent, sequence=indent + offset, offset=offset)
        return self._yaml.load(text)

    def dump(self, document: Any) -> str:
        out = io.StringIO()
        self._yaml.dump(document, out)
        return out.getvalue()

    @staticmethod
    def mapping(data: dict[str, Any], *, flow: bool = False) -> MutableMapping[str, Any]:
        node = CommentedMap(data)
        if flow:
            node.fa.set_flow_style()
        return node

    @staticmethod
    def sequence(items: list[Any]) -> list[Any]:
        node = CommentedSeq(items)
        node.fa.set_flow_style()
        return node

    @staticmethod
    def text(value: str) -> Any:
        # The plan loader reads YAML 1.1 (PyYAML), where a plain `yes`, `on` or `2024-01-01`
        # is not text: quote what would not read back as the same string.
        try:
            plain = "\n" not in value and yaml.safe_load(value) == value
        except yaml.YAMLError:
            plain = False
        return value if plain else DoubleQuotedScalarString(value)


class _JsonEditor:
    def __init__(self) -> None:
        self._indent: int | None = 2

    def load(self, text: str) -> Any:
        for line in text.splitlines()[1:]:
            stripped = line.lstrip(" ")
            if stripped:
                self._indent = (len(line) - len(stripped)) or None
                break
        return json.loads(text)

    def dump(self, document: Any) -> str:
        return json.dumps(document, indent=self._indent, ensure_ascii=False) + "\n"

    @staticmethod
    def mapping(data: dict[str, Any], *, flow: bool = False) -> MutableMapping[str, Any]:
        return dict(data)

    @staticmethod
    def sequence(items: list[Any]) -> list[Any]:
        return list(items)

    @staticmethod
    def text(value: str) -> Any:
        return value


class _Sync:
    """Edits a loaded document from ``previous`` to ``merged``, entry by entry."""

    def __init__(self, editor: _YamlEditor | _JsonEditor) -> None:
        self._editor = editor

    def plan(
        self, doc: MutableMapping[str, Any], previous: TrackingPlan, new: TrackingPlan
    ) -> None:
        if new.plan_id != previous.plan_id:
            if new.plan_id == DEFAULT_PLAN_ID:
                doc.pop("plan_id", None)
            else:
                _put(doc, "plan_id", new.plan_id, after="version")
        groups = self._section(doc, "property_groups", "version")
        self._entries(
            groups, previous.property_groups, new.property_groups, self._group, self._new_group
        )
        events = self._section(doc, "events", "property_groups")
        self._entries(events, previous.events, new.events, self._event, self._new_event)

    def _section(self, doc: MutableMapping[str, Any], key: str, after: str) -> Any:
        if not isinstance(doc.get(key), MutableMapping):
            _put(doc, key, self._editor.mapping({}), after=after)
        return doc[key]

    @staticmethod
    def _entries(
        node: MutableMapping[str, Any],
        old: dict[str, Any],
        new: dict[str, Any],
        change: Callable[[MutableMapping[str, Any], Any, Any], None],
        create: Callable[[Any], Any],
    ) -> None:
        for name in [name for name in node if name not in new]:
            _delete(node, name)
        for name, spec in new.items():
            if name not in node:
                _append(node, name, create(spec))
            elif old.get(name) != spec and isinstance(node[name], MutableMapping):
                change(node[name], old[name], spec)
            elif old.get(name) != spec:
                node[name] = create(spec)

    # --- groups ---------------------------------------------------------------------------

    def _group(
        self, node: MutableMapping[str, Any], old: PropertyGroupSpec, new: PropertyGroupSpec
    ) -> None:
        if old.description != new.description:
            if new.description:
                _put(node, "description", self._editor.text(new.description), first=True)
            else:
                node.pop("description", None)
        if not isinstance(node.get("properties"), MutableMapping):
            node["properties"] = self._editor.mapping({})
        self._entries(
            node["properties"], old.properties, new.properties, self._property, self._new_property
        )

    def _new_group(self, spec: PropertyGroupSpec) -> Any:
        data: dict[str, Any] = {}
        if spec.description:
            data["description"] = self._editor.text(spec.description)
        data["properties"] = self._editor.mapping(
            {name: self._new_property(prop) for name, prop in sorted(spec.properties.items())}
        )
        return self._editor.mapping(data)

    def _property(
        self, node: MutableMapping[str, Any], old: PropertySpec, new: PropertySpec
    ) -> None:
        fresh = self._property_data(new)
        for index, key in enumerate(_PROPERTY_KEYS):
            if getattr(old, key) == getattr(new, key):
                continue
            if key in fresh:
                earlier = [k for k in _PROPERTY_KEYS[:index] if k in node]
                after = earlier[-1] if earlier else None
                _put(node, key, fresh[key], first=after is None, after=after)
            else:
                node.pop(key, None)
                if key == "rules":
                    node.pop("regex", None)

    def _new_property(self, spec: PropertySpec) -> Any:
        return self._editor.mapping(self._property_data(spec), flow=True)

    def _property_data(self, spec: PropertySpec) -> dict[str, Any]:
        data = property_data(spec)
        if "description" in data:
            data["description"] = self._editor.text(data["description"])
        if "rules" in data:
            data["rules"] = self._editor.mapping(data["rules"], flow=True)
        return data

    # --- events ---------------------------------------------------------------------------

    def _event(self, node: MutableMapping[str, Any], old: EventSpec, new: EventSpec) -> None:
        if old.groups != new.groups:
            current = node.get("groups")
            if isinstance(current, list):
                current[:] = list(new.groups)
            else:
                _put(node, "groups", self._editor.sequence(list(new.groups)), first=True)
        if old.description != new.description:
            if new.description is None:
                node.pop("description", None)
            else:
                _put(node, "description", self._editor.text(new.description))
        if old.enforcement != new.enforcement:
            if new.enforcement is None:
                node.pop("enforcement", None)
            else:
                _put(node, "enforcement", new.enforcement.value)

    def _new_event(self, spec: EventSpec) -> Any:
        data: dict[str, Any] = {"groups": self._editor.sequence(list(spec.groups))}
        if spec.description is not None:
            data["description"] = self._editor.text(spec.description)
        if spec.enforcement is not None:
            data["enforcement"] = spec.enforcement.value
        return self._editor.mapping(data)


def _put(
    node: MutableMapping[str, Any],
    key: str,
    value: Any,
    *,
    first: bool = False,
    after: str | None = None,
) -> None:
    """Set ``key``: in place when present, else first, after ``after``, or at the end."""
    if key in node:
        node[key] = value
        return
    if not first and after is None:
        _append(node, key, value)
        return
    keys = list(node)
    position = len(keys)
    if first:
        position = 0
    elif after is not None and after in keys:
        position = keys.index(after) + 1
    if isinstance(node, CommentedMap):
        node.insert(position, key, value)
        return
    items = list(node.items())
    items.insert(position, (key, value))
    node.clear()
    node.update(items)


# --- comments ----------------------------------------------------------------------------------
# ruamel.yaml keeps the comment lines *after* an entry (often the heading of the next entry, or
# the file's last lines) on that entry's last value. Deleting or appending entries must move
# those lines, or they would vanish or end up above the new entry.

_KEY_LINE = re.compile(r"^( *)[^\s#-][^:]*:(\s|$)")
_DASH_LINE = re.compile(r"^( *)- ")


def _guess_indent(text: str) -> tuple[int, int]:
    """The file's mapping indentation and the offset of ``-`` under a key (2 and 0 if none)."""
    indent = 0
    offset: int | None = None
    parent = -1
    for line in text.splitlines():
        key = _KEY_LINE.match(line)
        dash = _DASH_LINE.match(line)
        if dash and offset is None and parent >= 0:
            offset = max(0, len(dash.group(1)) - parent)
        if key:
            width = len(key.group(1))
            if width and not indent:
                indent = width
            parent = width
    return indent or 2, offset or 0


def _last_key(node: CommentedMap | CommentedSeq) -> Any:
    return list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1


def _descends(value: Any) -> bool:
    # Block mappings only: a flow mapping or any sequence keeps its trailing comment on the
    # key that holds it.
    return isinstance(value, CommentedMap) and bool(value) and not value.fa.flow_style()


def _detach_after(container: CommentedMap, key: Any) -> str:
    """Cut the comment lines after entry ``key`` (its end-of-line comment stays)."""
    found = None
    while True:
        entry = container.ca.items.get(key)
        if entry and len(entry) > 2 and entry[2] is not None:
            found = entry[2]
        if not _descends(container[key]):
            break
        container, key = container[key], _last_key(container[key])
    if found is None:
        return ""
    first_line, _, rest = str(found.value).partition("\n")
    found.value = first_line + "\n"
    return rest


def _attach_after(container: CommentedMap, key: Any, lines: str) -> None:
    """Put comment lines after entry ``key``'s last value."""
    if not lines:
        return
    while _descends(container[key]):
        container, key = container[key], _last_key(container[key])
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    entry.extend([None] * (4 - len(entry)))
    if entry[2] is None:
        entry[2] = CommentToken("\n" + lines, CommentMark(0), None)
    else:
        entry[2].value = str(entry[2].value) + lines


def _delete(node: MutableMapping[str, Any], key: str) -> None:
    """Delete ``key``; the comment lines after it stay where they were."""
    if not isinstance(node, CommentedMap):
        del node[key]
        return
    keys = list(node)
    index = keys.index(key)
    lines = _detach_after(node, key)
    del node[key]
    if index > 0:
        _attach_after(node, keys[index - 1], lines)
    elif lines.strip() and len(keys) > 1:
        _attach_before(node, keys[1], lines)


def _attach_before(container: CommentedMap, key: Any, lines: str) -> None:
    """Put comment lines before entry ``key`` (they were the heading of ``key``)."""
    text = lines.lstrip(" ")
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    entry.extend([None] * (4 - len(entry)))
    before = CommentToken(text, CommentMark(len(lines) - len(text)), None)
    entry[1] = [before, *(entry[1] or [])]


def _append(node: MutableMapping[str, Any], key: str, value: Any) -> None:
    """Add ``key`` at the end; the comment lines that ended the mapping still end it."""
    if not isinstance(node, CommentedMap) or not node:
        node[key] = value
        return
    lines = _detach_after(node, _last_key(node))
    node[key] = value
    _attach_after(node, key, lines)
