"""Chat messages, their content, tool calls and tool definitions, as the three row formats use them.

The rules follow the chat-format fine-tuning guides (API_FACTS 5) and the service's own file
checks where the guides are silent:

- roles are system, developer, user, assistant and tool; supervised rows also take the legacy
  `function` role (with `functions` and `function_call`), which the service still trains on;
- content is a string or a list of parts: `{type: text, text}` anywhere, and `{type: image_url,
  image_url: {url, detail?}}` only in user messages and only where the method trains on images
  (supervised and reinforcement; DPO is text only);
- a message takes only the keys its role has (the service refuses unknown message keys), an
  assistant message needs content or tool calls and its content must not be blank;
- `weight` is supervised only, on assistant messages only, and exactly the integer 0 or 1
  (not true/false, not 1.0: the service's schema is an integer enum);
- a tool call is `{id, type: function, function: {name, arguments}}` with `arguments` a string
  holding a JSON object; a tool message answers an earlier tool call of the same row by id.

Every check adds to a `Sink` and goes on, so a row's problems are reported together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson

from ftsweep.data.findings import Loc, Sink

__all__ = [
    "DPO",
    "REINFORCEMENT",
    "SUPERVISED",
    "Rules",
    "check_message",
    "check_messages",
    "check_tools",
]

_NAMES = ("role", "content", "name")
_KEYS: dict[str, tuple[str, ...]] = {
    "system": _NAMES,
    "developer": _NAMES,
    "user": _NAMES,
    "assistant": (*_NAMES, "weight", "tool_calls", "function_call"),
    "tool": ("role", "content", "tool_call_id"),
    "function": _NAMES,
}
_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_IMAGE_URL = ("http://", "https://", "data:image/")


@dataclass(frozen=True)
class Rules:
    """What one method's messages may hold."""

    method: str
    roles: tuple[str, ...]
    weights: bool = False
    images: bool = False


SUPERVISED = Rules("supervised", (*_KEYS,), weights=True, images=True)
DPO = Rules("dpo", ("system", "developer", "user", "assistant", "tool"))
REINFORCEMENT = Rules("reinforcement", DPO.roles, images=True)


@dataclass
class _State:
    """What a row's earlier messages define: tool call ids, and the functions its tools name."""

    tools: frozenset[str] | None
    call_ids: set[str] = field(default_factory=set)


# --- messages --------------------------------------------------------------------------------


def check_messages(
    value: object, loc: Loc, rules: Rules, sink: Sink, tools: frozenset[str] | None = None
) -> list[Mapping[str, object]]:
    """Check a list of messages; return the ones whose role is known (for the row's rules)."""
    if not isinstance(value, list):
        sink.error(loc, "must be a list of messages", value)
        return []
    if not value:
        sink.error(loc, "must hold at least one message")
    state = _State(tools)
    return [m for i, m in enumerate(value) if _message(m, (*loc, i), rules, sink, state)]


def check_message(
    message: object, loc: Loc, rules: Rules, sink: Sink, tools: frozenset[str] | None = None
) -> bool:
    """Check one message on its own (a DPO output); False when it has no known role."""
    return _message(message, loc, rules, sink, _State(tools))


def _message(message: object, loc: Loc, rules: Rules, sink: Sink, state: _State) -> bool:
    if not isinstance(message, dict):
        sink.error(loc, "must be an object with a role and content", message)
        return False
    role = message.get("role")
    if role not in rules.roles:
        _bad_role(message, loc, rules, sink)
        return False
    assert isinstance(role, str)
    _check_keys(message, role, loc, rules, sink)
    _ROLE_CHECKS[role](message, loc, rules, sink, state)
    return True


def _bad_role(message: Mapping[str, object], loc: Loc, rules: Rules, sink: Sink) -> None:
    if "role" not in message:
        sink.error((*loc, "role"), "required")
    else:
        sink.error((*loc, "role"), f"must be one of {', '.join(rules.roles)}", message["role"])


def _check_keys(
    message: Mapping[str, object], role: str, loc: Loc, rules: Rules, sink: Sink
) -> None:
    allowed = _KEYS[role]
    for key in message:
        if key == "weight" and not rules.weights:
            sink.error((*loc, key), f"only supervised rows take a weight, not {rules.method} rows")
        elif key == "weight" and role != "assistant":
            sink.error((*loc, key), f"only assistant messages take a weight, not {role} messages")
        elif key not in allowed:
            article = "an" if role == "assistant" else "a"
            sink.error((*loc, key), f"{article} {role} message takes only {', '.join(allowed)}")


def _plain(message: Mapping[str, object], loc: Loc, rules: Rules, sink: Sink, _: _State) -> None:
    """system, developer and user messages: content, and an optional name."""
    images = rules.images and message.get("role") == "user"
    if "content" not in message:
        sink.error((*loc, "content"), "required")
    else:
        _content(message["content"], (*loc, "content"), images, sink)
    _name(message, loc, sink, required=False)


def _assistant(
    message: Mapping[str, object], loc: Loc, rules: Rules, sink: Sink, state: _State
) -> None:
    calls = bool(message.get("tool_calls")) or message.get("function_call") is not None
    if message.get("tool_calls") is not None:  # [] is allowed: exported chats carry it
        _tool_calls(message["tool_calls"], (*loc, "tool_calls"), sink, state)
    if message.get("function_call") is not None:
        _function_call(message["function_call"], (*loc, "function_call"), sink, state)
    content = message.get("content")
    if content is None and not calls:
        sink.error((*loc, "content"), "an assistant message needs content or tool_calls")
    elif content is not None:
        text = _content(content, (*loc, "content"), False, sink)
        if text is not None and not calls and not text.strip():
            sink.error((*loc, "content"), "must not be empty or whitespace only", content)
    if "weight" in message and rules.weights:
        _weight(message["weight"], (*loc, "weight"), sink)
    _name(message, loc, sink, required=False)


def _weight(weight: object, loc: Loc, sink: Sink) -> None:
    if type(weight) is not int or weight not in (0, 1):
        sink.error(loc, "must be 0 or 1, only on assistant messages", weight)


def _tool(message: Mapping[str, object], loc: Loc, rules: Rules, sink: Sink, state: _State) -> None:
    call_id = message.get("tool_call_id")
    if call_id is None:
        sink.error((*loc, "tool_call_id"), "required: the id of the tool call it answers")
    elif not isinstance(call_id, str) or call_id not in state.call_ids:
        sink.error((*loc, "tool_call_id"), "must be the id of an earlier tool call", call_id)
    if "content" not in message:
        sink.error((*loc, "content"), "required")
    else:
        _content(message["content"], (*loc, "content"), False, sink)


def _function(message: Mapping[str, object], loc: Loc, rules: Rules, sink: Sink, _: _State) -> None:
    """The legacy `function` role: the result of a `function_call`, named."""
    _name(message, loc, sink, required=True)
    if "content" not in message:
        sink.error((*loc, "content"), "required")
    else:
        _content(message["content"], (*loc, "content"), False, sink)


_ROLE_CHECKS: dict[str, Callable[[Mapping[str, object], Loc, Rules, Sink, _State], None]] = {
    "system": _plain,
    "developer": _plain,
    "user": _plain,
    "assistant": _assistant,
    "tool": _tool,
    "function": _function,
}


def _name(message: Mapping[str, object], loc: Loc, sink: Sink, required: bool) -> None:
    name = message.get("name")
    if name is None and not required:
        return
    if not isinstance(name, str) or not name:
        sink.error((*loc, "name"), "must be a non-empty string", name)


# --- content ---------------------------------------------------------------------------------


def _content(content: object, loc: Loc, images: bool, sink: Sink) -> str | None:
    """Check a content value; return its text (None when it is not valid content)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        sink.error(loc, "must be a string or a list of content parts", content)
        return None
    if not content:
        sink.error(loc, "must hold at least one content part")
        return None
    texts = [_part(part, (*loc, i), images, sink) for i, part in enumerate(content)]
    return None if None in texts else "".join(t for t in texts if t is not None)


def _part(part: object, loc: Loc, images: bool, sink: Sink) -> str | None:
    """Check a content part; return its text ("" for an image), None when it is not valid."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text" and isinstance(part, dict):
        _only(part, ("type", "text"), loc, sink)
        text = part.get("text")
        if isinstance(text, str):
            return text
        sink.error((*loc, "text"), "must be a string", text)
    elif kind == "image_url" and images and isinstance(part, dict):
        _only(part, ("type", "image_url"), loc, sink)
        _image(part.get("image_url"), (*loc, "image_url"), sink)
        return ""
    else:
        kinds = "text or image_url (images only in user messages)" if images else "text"
        sink.error(loc, f"must be a content part of type {kinds}", part)
    return None


def _image(image: object, loc: Loc, sink: Sink) -> None:
    if not isinstance(image, dict):
        sink.error(loc, "must be an object {url, detail?}", image)
        return
    _only(image, ("url", "detail"), loc, sink)
    url = image.get("url")
    if not isinstance(url, str) or not url.startswith(_IMAGE_URL):
        sink.error((*loc, "url"), "must be an http(s) URL or a data:image/ URL", url)
    if image.get("detail", "auto") not in ("auto", "low", "high"):
        sink.error((*loc, "detail"), "must be auto, low or high", image["detail"])


def _only(value: Mapping[str, object], keys: tuple[str, ...], loc: Loc, sink: Sink) -> None:
    for key in value:
        if key not in keys:
            sink.error((*loc, key), f"not a field here; this takes only {', '.join(keys)}")


# --- tool calls ------------------------------------------------------------------------------


def _tool_calls(calls: object, loc: Loc, sink: Sink, state: _State) -> None:
    if not isinstance(calls, list):
        sink.error(loc, "must be a list of tool calls", calls)
        return
    for i, call in enumerate(calls):
        _tool_call(call, (*loc, i), sink, state)


def _tool_call(call: object, loc: Loc, sink: Sink, state: _State) -> None:
    if not isinstance(call, dict):
        sink.error(loc, "must be an object {id, type, function}", call)
        return
    _only(call, ("id", "type", "function"), loc, sink)
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        sink.error((*loc, "id"), "must be a non-empty string", call_id)
    elif call_id in state.call_ids:
        sink.error((*loc, "id"), "repeats an earlier tool call id of this row", call_id)
    else:
        state.call_ids.add(call_id)
    if call.get("type") != "function":
        sink.error((*loc, "type"), "must be 'function'", call.get("type"))
    _function_call(call.get("function"), (*loc, "function"), sink, state)


def _function_call(function: object, loc: Loc, sink: Sink, state: _State) -> None:
    if not isinstance(function, dict):
        sink.error(loc, "must be an object {name, arguments}", function)
        return
    _only(function, ("name", "arguments"), loc, sink)
    name = function.get("name")
    if not isinstance(name, str) or not name:
        sink.error((*loc, "name"), "must be a non-empty string", name)
    elif state.tools is not None and name not in state.tools:
        sink.warn((*loc, "name"), "calls a function that the row's tools do not define", name)
    arguments = function.get("arguments")
    if not _json_object(arguments):
        sink.error((*loc, "arguments"), "must be a string holding a JSON object", arguments)


def _json_object(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        return isinstance(orjson.loads(text), dict)
    except orjson.JSONDecodeError:
        return False


# --- tool definitions ------------------------------------------------------------------------


def check_tools(tools: object, loc: Loc, sink: Sink, legacy: bool = False) -> frozenset[str] | None:
    """Check `tools` (or the legacy `functions`); return the function names it defines."""
    if not isinstance(tools, list):
        sink.error(loc, f"must be a list of {'functions' if legacy else 'tools'}", tools)
        return None
    names: list[str] = []
    for i, tool in enumerate(tools):
        name = _function_def(tool, (*loc, i), sink) if legacy else _tool_def(tool, (*loc, i), sink)
        if name is not None and name in names:
            where = (*loc, i, "name") if legacy else (*loc, i, "function", "name")
            sink.error(where, "repeats a function name", name)
        if name is not None:
            names.append(name)
    return frozenset(names)


def _tool_def(tool: object, loc: Loc, sink: Sink) -> str | None:
    if not isinstance(tool, dict):
        sink.error(loc, "must be an object {type: function, function}", tool)
        return None
    _only(tool, ("type", "function"), loc, sink)
    if tool.get("type") != "function":
        sink.error((*loc, "type"), "must be 'function'", tool.get("type"))
    return _function_def(tool.get("function"), (*loc, "function"), sink)


def _function_def(function: object, loc: Loc, sink: Sink) -> str | None:
    if not isinstance(function, dict):
        sink.error(loc, "must be an object {name, description?, parameters?}", function)
        return None
    _only(function, ("name", "description", "parameters", "strict"), loc, sink)
    if not isinstance(function.get("description", ""), str):
        sink.error((*loc, "description"), "must be a string", function["description"])
    if not isinstance(function.get("parameters", {}), dict):
        sink.error((*loc, "parameters"), "must be a JSON schema object", function["parameters"])
    if not isinstance(function.get("strict", False), bool):
        sink.error((*loc, "strict"), "must be true or false", function["strict"])
    name = function.get("name")
    if isinstance(name, str) and _FUNCTION_NAME.fullmatch(name):
        return name
    sink.error((*loc, "name"), "must be 1 to 64 letters, digits, '_' or '-'", name)
    return None
