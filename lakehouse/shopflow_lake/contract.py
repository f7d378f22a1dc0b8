"""The clickstream contract, applied to one Kafka record as the TypeScript ingestor applies it.

Nothing here states a rule of its own: the field rules come from the JSON Schema that
lib/events/schema.ts exports (the same one as docs/events.schema.json), and the limits the JSON
Schema cannot say (message size, event-time range, which fields are integers or money) from
lib/events/bounds.ts. The TypeScript side hands both to the job in its settings
(lib/lakehouse/settings.ts), so the two ingestors cannot drift apart silently; and
tests/lakehouse/contract.test.ts runs the Kafka ingestor's whole bad-input corpus plus generated
mutations through both deciders and requires the same verdict and dead-letter code.

The order of checks is the ingestor's (ingest/kafka/decode.ts): key, Kafka timestamp, value
presence, size, encoding, JSON, schema, number spelling, what jsonb cannot store.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Optional

NO_TIMESTAMP = -1


@dataclass(frozen=True)
class Verdict:
    ok: bool
    code: Optional[str] = None
    reason: Optional[str] = None
    event_id: Optional[str] = None
    event_type: Optional[str] = None
    # Microseconds since the epoch of event_time (Spark's timestamp unit).
    event_time_us: Optional[int] = None


def _js_pattern(pattern: str) -> re.Pattern[str]:
    # JavaScript's `$` never matches before a final newline, Python's does; `\d` is ASCII in JS.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern, re.ASCII)


def _utf16_length(text: str) -> int:
    # zod measures strings in UTF-16 code units, as JavaScript does (counted in C, not per character).
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


class _Field:
    """One property of the JSON Schema, compiled to a check that returns a problem or None.

    The schema's keywords are read once here: a record's check then looks up attributes, not
    the schema's dictionaries (it runs for every field of every event).
    """

    _ABSENT = object()

    def __init__(self, spec: dict[str, Any]):
        self.nullable = False
        options = spec.get("anyOf")
        if options:
            self.nullable = any(o.get("type") == "null" for o in options)
            spec = next(o for o in options if o.get("type") != "null")
        self.kind = spec.get("type")
        self.const = spec.get("const", self._ABSENT)
        self.enum = spec.get("enum")
        self.enum_set = frozenset(self.enum) if self.enum is not None else None
        self.min_length = spec.get("minLength", 0)
        self.max_length = spec.get("maxLength")
        self.minimum = spec.get("minimum")
        self.maximum = spec.get("maximum")
        # multipleOf as zod decides it: by the decimals of the number's shortest spelling.
        self.step = -Decimal(repr(spec["multipleOf"])).as_tuple().exponent if "multipleOf" in spec else None
        self.pattern = _js_pattern(spec["pattern"]) if "pattern" in spec else None

    def problem(self, value: Any) -> Optional[str]:
        if value is None:
            return None if self.nullable else "must not be null"
        if self.kind == "string":
            if not isinstance(value, str):
                return "must be a string"
            if self.const is not self._ABSENT and value != self.const:
                return f"must be {self.const!r}"
            if self.enum_set is not None and value not in self.enum_set:
                return f"must be one of {', '.join(self.enum)}"
            length = _utf16_length(value)
            if length < self.min_length:
                return f"must have at least {self.min_length} characters"
            if self.max_length is not None and length > self.max_length:
                return f"must have at most {self.max_length} characters"
            if self.pattern is not None and not self.pattern.search(value):
                return "has the wrong format"
            return None
        # Numbers: JSON's true/false are not numbers, though Python's bool is an int.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if self.kind == "integer" and not float(value).is_integer():
            return "must be a whole number"
        if self.const is not self._ABSENT and value != self.const:
            return f"must be {self.const}"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum}"
        if self.step is not None:
            written = -Decimal(repr(value)).as_tuple().exponent if isinstance(value, float) else 0
            if written > self.step:
                return f"must have at most {self.step} decimals"
        return None


class Contract:
    """Compiled once per executor from the settings the TypeScript side sends."""

    def __init__(self, spec: dict[str, Any]):
        self.max_event_bytes: int = spec["maxEventBytes"]
        self.max_key_bytes: int = spec["maxKeyBytes"]
        self.time_min_ms: int = spec["eventTimeMinMs"]
        self.time_end_ms: int = spec["eventTimeEndMs"]
        self.integer_fields = frozenset(spec["integerFields"])
        self.money_fields = frozenset(spec["moneyFields"])
        self.money_scale: int = spec["moneyScale"]
        self.types: dict[str, tuple[dict[str, _Field], frozenset[str]]] = {}
        for branch in spec["jsonSchema"]["oneOf"]:
            props = branch["properties"]
            name = props["event_type"]["const"]
            self.types[name] = ({k: _Field(v) for k, v in props.items()}, frozenset(branch["required"]))

    # -- the checks, in the ingestor's order -------------------------------------------------

    def decide(self, key: Optional[bytes], value: Optional[bytes], timestamp_ms: Optional[int]) -> Verdict:
        if key is not None:
            if len(key) > self.max_key_bytes:
                return Verdict(False, "oversized_key", f"message key is {len(key)} bytes, more than the {self.max_key_bytes}-byte limit")
            try:
                key_text = key.decode("utf-8")
            except UnicodeDecodeError:
                return Verdict(False, "invalid_key", "message key is not valid UTF-8")
            if "\x00" in key_text:
                return Verdict(False, "invalid_key", "message key contains a NUL byte")
        if timestamp_ms is not None and timestamp_ms != NO_TIMESTAMP:
            if not (self.time_min_ms <= timestamp_ms < self.time_end_ms):
                return Verdict(False, "invalid_timestamp", f"Kafka record timestamp {timestamp_ms} ms is outside the accepted range")
        if value is None:
            return Verdict(False, "empty_message", "message has no value (a tombstone or an empty produce)")
        if len(value) > self.max_event_bytes:
            return Verdict(False, "oversized", f"message is {len(value)} bytes, more than the {self.max_event_bytes}-byte limit")
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return Verdict(False, "invalid_encoding", "message value is not valid UTF-8")
        try:
            parsed = json.loads(text, parse_constant=_refuse_constant, parse_float=_Spelled, object_pairs_hook=_Object.of)
        except RecursionError:
            # JSON.parse reads deeper nesting than Python's parser; nothing nested fits the flat contract.
            return Verdict(False, "schema_violation", "value is nested too deeply to be an event")
        except ValueError as error:
            return Verdict(False, "invalid_json", f"value is not valid JSON: {error}")
        if not isinstance(parsed, dict):
            return Verdict(False, "schema_violation", "value must be a JSON object")
        problem, event_time_ms = self._schema_problem(parsed)
        if problem is not None:
            return Verdict(False, "schema_violation", problem)
        spelling = self._spelling_problem(parsed, text)
        if spelling is not None:
            return Verdict(False, "schema_violation", spelling)
        if "\\u" in text:
            for field, v in parsed.items():
                if isinstance(v, str):
                    if "\x00" in v:
                        return Verdict(False, "unsupported_json", f"{field} contains \\u0000 (a NUL character), which Postgres jsonb cannot store")
                    if any(0xD800 <= ord(c) <= 0xDFFF for c in v):
                        return Verdict(False, "unsupported_json", f"{field} contains a lone UTF-16 surrogate escape, which Postgres jsonb cannot store")
        return Verdict(True, event_id=parsed["event_id"], event_type=parsed["event_type"], event_time_us=event_time_ms * 1000)

    def _schema_problem(self, event: dict[str, Any]) -> tuple[Optional[str], int]:
        """What is wrong with the event, or None and its event time in ms (read once here)."""
        event_type = event.get("event_type")
        if not isinstance(event_type, str) or event_type not in self.types:
            return f"event_type: must be one of {', '.join(self.types)}", 0
        fields, required = self.types[event_type]
        problems = [f"{k}: unknown field" for k in event if k not in fields]
        problems += [f"{k}: missing" for k in required if k not in event]
        for name, field in fields.items():
            if name in event:
                problem = field.problem(event[name])
                if problem is not None:
                    problems.append(f"{name}: {problem}")
        ms = 0
        if not problems and "event_time" in event:
            ms = self._event_time_ms(event["event_time"])
            if not (self.time_min_ms <= ms < self.time_end_ms):
                problems.append("event_time: outside the accepted range")
        return ("; ".join(problems) if problems else None), ms

    _TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:Z|([+-])(\d\d):(\d\d))\Z", re.ASCII)

    def _event_time_ms(self, text: str) -> int:
        """Milliseconds since the epoch, as Date.parse reads a text the schema's pattern admitted."""
        m = self._TIME.match(text)
        if m is None:
            return self.time_end_ms  # unreachable after the pattern check; outside the range if it were
        year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
        millis = int((m.group(7) or "0")[:3].ljust(3, "0"))
        days = _days_from_civil(year, month, day)
        ms = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
        if m.group(8):
            offset = (int(m.group(9)) * 60 + int(m.group(10))) * 60_000
            ms -= offset if m.group(8) == "+" else -offset
        return ms

    # A JSON text's tokens that matter to the spelling rule: strings (the last one before a
    # number is its field's name) and numbers; the regex engine walks the text, not Python.
    _TOKENS = re.compile(r'"((?:[^"\\]|\\.)*)"|-?[0-9]+(\.[0-9]*)?([eE][-+0-9]*)?', re.ASCII)

    def _spelling_problem(self, event: _Object, text: str) -> Optional[str]:
        """ingest/kafka's wire rule (lib/events/wire.ts): integers plain, money <= scale decimals, no exponents.

        The rule reads the text: every number with its field, the last string before it. An event
        that passed the schema is flat, so that is each of its members in order, and the parser
        kept how each number with a fraction or exponent was written (_Spelled). Only a repeated
        key (the schema saw its last value; an earlier one may hold anything) needs the text.
        """
        if len(event.pairs) == len(event):
            for field, value in event.pairs:
                if type(value) is _Spelled:
                    problem = self._written_problem(field, value.written)
                    if problem is not None:
                        return problem
            return None
        key = ""
        for token in self._TOKENS.finditer(text):
            name, fraction, exponent = token.groups()
            if name is not None:
                key = name
                continue
            if fraction is None and exponent is None:
                continue
            field = json.loads(f'"{key}"') if "\\" in key else key
            problem = self._written_problem(field, token.group(0))
            if problem is not None:
                return problem
        return None

    def _written_problem(self, field: str, written: str) -> Optional[str]:
        """A number written with a fraction or an exponent, in `field`."""
        if field in self.integer_fields:
            return f"{field}: written as {written}: must be a plain integer (no fraction or exponent)"
        mantissa, e, _ = written.lower().partition("e")
        decimals = len(mantissa.partition(".")[2])
        if field in self.money_fields and (decimals > self.money_scale or e):
            return f"{field}: written as {written}: must have at most {self.money_scale} decimals and no exponent"
        return None


class _Spelled(float):
    """A JSON number written with a fraction or an exponent, with how it was written."""

    __slots__ = ("written",)

    def __new__(cls, written: str) -> "_Spelled":
        number = super().__new__(cls, written)
        number.written = written
        return number


class _Object(dict):
    """A JSON object that keeps its members in order, repeated keys included."""

    __slots__ = ("pairs",)

    @classmethod
    def of(cls, pairs: list[tuple[str, Any]]) -> "_Object":
        obj = cls(pairs)
        obj.pairs = pairs
        return obj


def _days_from_civil(y: int, m: int, d: int) -> int:
    # Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
