"""The clickstream contract as Spark SQL expressions, decided in the executors' JVMs.

Not yet used by the jobs, which still decide with contract.py's Python UDF: Spark's optimizer
takes about 70 s (on a loaded 2-core machine) to plan a query with these expressions, and a
micro-batch plans several (docs/lakehouse.md, "Not yet"). Verdicts agree with the ingestor's.

Nothing here states a rule of its own: the expressions are generated, when a job starts, from the
JSON Schema that lib/events/schema.ts exports (the same one as docs/events.schema.json) and from
the limits the JSON Schema cannot say (message size, event-time range, which fields are integers
or money) of lib/events/bounds.ts. The TypeScript side hands both to the job in its settings
(lib/lakehouse/settings.ts); tests/lakehouse/contract-sql.test.ts runs the Kafka ingestor's bad-input
corpus and generated messages through both deciders and requires the same verdicts, dead-letter
codes and the same fields named in a schema violation's reason.

The checks run in the ingestor's order (ingest/kafka/decode.ts): key, Kafka timestamp, value
presence, size, encoding, JSON, schema, number spelling, what Postgres text cannot store.

How the JVM sees what JSON.parse does:
- the value is parsed once into a VARIANT (`try_parse_json`), which keeps how each number was
  written: a plain integer is BIGINT, a number with a fraction and no exponent is DECIMAL(p, s)
  with s the decimals written, anything with an exponent (or too long for a decimal) is DOUBLE.
  That is the contract's spelling rule (lib/events/wire.ts) read from the parsed value;
- a duplicated key is read as its last occurrence, as JSON.parse reads it
  (`spark.sql.variant.allowDuplicateKeys`, set by session.py);
- strings are measured in UTF-16 code units, as zod measures them;
- JSON Schema patterns are JavaScript regular expressions: `$` is rewritten to `\\z`, which is
  what it means there (Java's, like Python's, also matches before a final newline);
- a lone surrogate escape does not survive the parse (the JVM writes it as `?` in UTF-8), so
  what Postgres cannot store is looked for in the message text, only when it has a `\\u`.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, LongType, StringType, StructField, StructType

NO_TIMESTAMP = -1

# What each decision yields; clickstream.py and windows.py read these fields.
VERDICT = StructType(
    [
        StructField("ok", BooleanType(), False),
        StructField("code", StringType(), True),
        StructField("reason", StringType(), True),
        StructField("event_id", StringType(), True),
        StructField("event_type", StringType(), True),
        # Microseconds since the epoch of event_time (Spark's timestamp unit).
        StructField("event_time_us", LongType(), True),
    ]
)

# Spark settings the expressions rely on (session.py and the contract CLI apply them).
SESSION_CONFIG = {"spark.sql.variant.allowDuplicateKeys": "true"}

_NUMBER_TYPES = ("BIGINT", "DOUBLE")


def _sql_string(text: str) -> str:
    # A Spark SQL string literal: escapes processed by the parser are backslash and quote.
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _js_pattern(pattern: str) -> str:
    # JavaScript's `$` (no multiline flag) matches only at the very end; Java's also before a
    # final line terminator.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + "\\z"
    return pattern


def _num(n: Any) -> str:
    return repr(float(n)) if isinstance(n, float) else str(n)


class _Field:
    """One property of the JSON Schema, compiled to a SQL expression that is null when the field
    is absent or right, and names the problem otherwise."""

    def __init__(self, name: str, spec: dict[str, Any], integer: bool, money: bool, money_scale: int):
        self.name = name
        self.nullable = False
        options = spec.get("anyOf")
        if options:
            self.nullable = any(o.get("type") == "null" for o in options)
            spec = next(o for o in options if o.get("type") != "null")
        self.spec = spec
        self.integer = integer
        self.money = money
        self.money_scale = money_scale

    def problem(self) -> str:
        """SQL over `_t` (map of field name to its schema_of_variant) and `_o` (map of field name to variant)."""
        name = _sql_string(self.name)
        t = f"_t[{name}]"
        v = f"_o[{name}]"
        spec = self.spec
        null_case = "NULL" if self.nullable else "'must not be null'"
        checks: list[tuple[str, str]] = []
        if spec.get("type") == "string":
            s = f"variant_get({v}, '$', 'string')"
            checks.append((f"{t} <> 'STRING'", "'must be a string'"))
            if "const" in spec:
                checks.append((f"{s} <> {_sql_string(spec['const'])}", _sql_string(f"must be {spec['const']!r}")))
            if "enum" in spec:
                values = ", ".join(_sql_string(e) for e in spec["enum"])
                checks.append((f"NOT array_contains(array({values}), {s})", _sql_string(f"must be one of {', '.join(spec['enum'])}")))
            # zod counts UTF-16 code units: a character outside the BMP counts twice.
            # UTF-8 bytes >= UTF-16 units >= characters: the exact count only when those disagree.
            length = f"(octet_length(encode({s}, 'UTF-16LE')) DIV 2)"
            if spec.get("minLength", 0) > 0:
                short = f"char_length({s}) < {spec['minLength']} AND {length} < {spec['minLength']}"
                checks.append((short, _sql_string(f"must have at least {spec['minLength']} characters")))
            if "maxLength" in spec:
                long = f"octet_length({s}) > {spec['maxLength']} AND {length} > {spec['maxLength']}"
                checks.append((long, _sql_string(f"must have at most {spec['maxLength']} characters")))
            if "pattern" in spec:
                checks.append((f"NOT rlike({s}, {_sql_string(_js_pattern(spec['pattern']))})", "'has the wrong format'"))
        else:
            numeric = f"({t} IN ('BIGINT', 'DOUBLE') OR startswith({t}, 'DECIMAL'))"
            d = f"variant_get({v}, '$', 'double')"
            checks.append((f"NOT {numeric}", "'must be a number'"))
            checks.append((f"{t} = 'DOUBLE' AND (isnan({d}) OR abs({d}) = double('infinity'))", "'must be a finite number'"))
            if spec.get("type") == "integer":
                checks.append((f"{d} <> rint({d})", "'must be a whole number'"))
            if "const" in spec:
                checks.append((f"{d} <> {_num(spec['const'])}", _sql_string(f"must be {spec['const']}")))
            if "minimum" in spec:
                checks.append((f"{d} < {_num(spec['minimum'])}D", _sql_string(f"must be >= {spec['minimum']}")))
            if "maximum" in spec:
                checks.append((f"{d} > {_num(spec['maximum'])}D", _sql_string(f"must be <= {spec['maximum']}")))
            if "multipleOf" in spec:
                # As zod decides it for the ingestor: by the decimals written (a DECIMAL's scale).
                step = len(repr(float(spec["multipleOf"])).split(".")[1].rstrip("0") or "")
                checks.append(
                    (f"startswith({t}, 'DECIMAL') AND {_decimal_scale(t)} > {step}", _sql_string(f"must have at most {step} decimals"))
                )
        branches = " ".join(f"WHEN {cond} THEN {message}" for cond, message in checks)
        return f"CASE WHEN {t} IS NULL THEN NULL WHEN {t} = 'VOID' THEN {null_case} {branches} END"

    def spelling(self, written: str) -> str | None:
        """ingest/kafka's wire rule (lib/events/wire.ts), from how the variant typed the number."""
        t = f"_t[{_sql_string(self.name)}]"
        field = _sql_string(f"{self.name}: written as ")
        if self.integer:
            rule = _sql_string(": must be a plain integer (no fraction or exponent)")
            return f"CASE WHEN {t} = 'DOUBLE' OR startswith({t}, 'DECIMAL') THEN concat({field}, {written}, {rule}) END"
        if self.money:
            rule = _sql_string(f": must have at most {self.money_scale} decimals and no exponent")
            bad = f"{t} = 'DOUBLE' OR (startswith({t}, 'DECIMAL') AND {_decimal_scale(t)} > {self.money_scale})"
            return f"CASE WHEN {bad} THEN concat({field}, {written}, {rule}) END"
        return None


def _decimal_scale(t: str) -> str:
    # schema_of_variant spells a decimal DECIMAL(precision,scale).
    return f"int(regexp_extract({t}, ',([0-9]+)\\\\)', 1))"


def _written(field: str) -> str:
    # How the number was written, for the reason: its first occurrence in the text.
    pattern = _sql_string('"' + field + r'"[ \t\r\n]*:[ \t\r\n]*(-?[0-9][0-9.eE+-]*)')
    return f"regexp_extract(_text, {pattern}, 1)"


class Contract:
    """The contract as SQL, generated once per job from the settings the TypeScript side sends.

    The branches of the schema (one per event type) share their fields' rules: each field is
    checked by one expression, whatever the event type, and a branch is only its lists of known
    and required fields. That keeps the generated expression small, which matters: Spark's
    optimizer walks it again for every micro-batch's plan."""

    def __init__(self, spec: dict[str, Any]):
        self.max_event_bytes: int = spec["maxEventBytes"]
        self.max_key_bytes: int = spec["maxKeyBytes"]
        self.time_min_ms: int = spec["eventTimeMinMs"]
        self.time_end_ms: int = spec["eventTimeEndMs"]
        integer_fields = frozenset(spec["integerFields"])
        money_fields = frozenset(spec["moneyFields"])
        self.fields: dict[str, _Field] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.types: dict[str, tuple[list[str], list[str]]] = {}
        for branch in spec["jsonSchema"]["oneOf"]:
            props = branch["properties"]
            name = props["event_type"]["const"]
            for field, rule in props.items():
                if field == "event_type":
                    continue  # the discriminator, checked first
                if field in self.rules and self.rules[field] != rule:
                    raise ValueError(f"the contract's field {field} has different rules per event type, which contract.py does not generate")
                self.rules[field] = rule
                self.fields[field] = _Field(field, rule, field in integer_fields, field in money_fields, spec["moneyScale"])
            self.types[name] = (list(props), list(branch["required"]))

    # -- the generated SQL -----------------------------------------------------------------------

    def _lists(self, which: int) -> str:
        """SQL: the known (0) or required (1) fields of `_event_type`'s branch."""
        entries = ", ".join(f"{_sql_string(t)}, array({', '.join(_sql_string(f) for f in lists[which])})" for t, lists in self.types.items())
        return f"map({entries})[_event_type]"

    def _schema_problem(self) -> str:
        """SQL over `_o`, `_t`, `_keys`, `_known` and `_required`: the schema's problems joined by '; ', or ''."""
        names = ", ".join(_sql_string(t) for t in self.types)
        checks = ", ".join(
            f"CASE WHEN array_contains(_known, {_sql_string(n)}) THEN concat({_sql_string(n + ': ')}, {f.problem()}) END"
            for n, f in self.fields.items()
        )
        problems = (
            "concat("
            "transform(array_except(_keys, _known), k -> concat(k, ': unknown field')), "
            "transform(array_except(_required, _keys), k -> concat(k, ': missing')), "
            f"filter(array({checks}), p -> p IS NOT NULL))"
        )
        return (
            f"CASE WHEN _t['event_type'] IS DISTINCT FROM 'STRING' OR NOT array_contains(array({names}), _event_type) "
            f"THEN {_sql_string('event_type: must be one of ' + ', '.join(self.types))} "
            f"ELSE array_join({problems}, '; ') END"
        )

    def _spelling_problem(self) -> str:
        """SQL: the first field whose number is written as the contract does not allow, or NULL."""
        rules = [rule for name, field in self.fields.items() if (rule := field.spelling(_written(name))) is not None]
        return f"coalesce({', '.join(rules)})"

    def _event_time_ms(self) -> str:
        """SQL: milliseconds since the epoch of `_event_time`, as Date.parse reads a text the
        schema's pattern admitted (any number of fraction digits, milliseconds kept)."""
        pattern = _sql_string(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:Z|([+-])(\d\d):(\d\d))$")
        # ANSI-safe: an absent group (no offset) is '', which try_cast reads as NULL.
        g = lambda i: f"coalesce(try_cast(regexp_extract(_event_time, {pattern}, {i}) AS INT), 0)"  # noqa: E731
        millis = f"try_cast(rpad(substr(regexp_extract(_event_time, {pattern}, 7), 1, 3), 3, '0') AS INT)"
        days = f"unix_date(make_date({g(1)}, {g(2)}, {g(3)}))"
        sign = f"regexp_extract(_event_time, {pattern}, 8)"
        offset = f"CASE {sign} WHEN '+' THEN 1 WHEN '-' THEN -1 ELSE 0 END * ({g(9)} * 60 + {g(10)}) * 60000"
        return f"((bigint({days}) * 24 + {g(4)}) * 60 + {g(5)}) * 60000 + {g(6)} * 1000 + {millis} - {offset}"

    def decided(self, records: DataFrame, key: str = "key", value: str = "value", timestamp_ms: Column | None = None) -> DataFrame:
        """`records` with a column `v` (VERDICT) per record: in stages, so that each stage's
        costly parts (the parse, the field types) are computed once per record."""
        ts = F.unix_millis(F.col("timestamp")) if timestamp_ms is None else timestamp_ms
        staged = records.select(
            "*",
            F.col(value).cast("string").alias("_text"),
            ts.alias("_ts_ms"),
        ).select("*", F.expr("CASE WHEN is_valid_utf8(_text) AND octet_length(_text) <= %d THEN try_parse_json(_text) END" % self.max_event_bytes).alias("_json"))
        staged = staged.select(
            "*",
            F.expr("try_variant_get(_json, '$', 'map<string,variant>')").alias("_o"),
        ).select(
            "*",
            F.expr("map_keys(_o)").alias("_keys"),
            F.expr("transform_values(_o, (k, x) -> schema_of_variant(x))").alias("_t"),
            F.expr("try_variant_get(_o['event_type'], '$', 'string')").alias("_event_type"),
            F.expr("try_variant_get(_o['event_time'], '$', 'string')").alias("_event_time"),
            F.expr("try_variant_get(_o['event_id'], '$', 'string')").alias("_event_id"),
        )
        staged = staged.select("*", F.expr(self._lists(0)).alias("_known"), F.expr(self._lists(1)).alias("_required"))
        staged = staged.select("*", F.expr(f"CASE WHEN _o IS NOT NULL THEN {self._schema_problem()} END").alias("_schema"))
        staged = staged.select(
            "*",
            F.expr(f"CASE WHEN _schema = '' THEN {self._event_time_ms()} END").alias("_time_ms"),
            F.expr(f"CASE WHEN _schema = '' THEN {self._spelling_problem()} END").alias("_spelling"),
        )
        verdict = self._verdict(key, value)
        internal = ["_text", "_ts_ms", "_json", "_o", "_keys", "_t", "_event_type", "_event_time", "_event_id", "_known", "_required", "_schema", "_time_ms", "_spelling"]
        return staged.select(*[c for c in staged.columns if c not in internal], verdict.alias("v"))

    def _verdict(self, key: str, value: str) -> Column:
        k = f"`{key}`"
        v = f"`{value}`"
        key_text = f"CAST({k} AS STRING)"
        in_range = lambda ms: f"({ms} >= {self.time_min_ms} AND {ms} < {self.time_end_ms})"  # noqa: E731
        checks: list[tuple[str, str, str]] = [
            (
                f"{k} IS NOT NULL AND octet_length({k}) > {self.max_key_bytes}",
                "oversized_key",
                f"concat('message key is ', octet_length({k}), ' bytes, more than the {self.max_key_bytes}-byte limit (KAFKA_MAX_KEY_BYTES); the key should be the session_id')",
            ),
            (
                f"{k} IS NOT NULL AND NOT is_valid_utf8({key_text})",
                "invalid_key",
                "'message key is not valid UTF-8 (kept exactly in message_key); the key should be the session_id'",
            ),
            (
                f"{k} IS NOT NULL AND instr({key_text}, char(0)) > 0",
                "invalid_key",
                "'message key contains a NUL byte, which Postgres text cannot store (kept exactly in message_key)'",
            ),
            (
                f"_ts_ms IS NOT NULL AND _ts_ms <> {NO_TIMESTAMP} AND NOT {in_range('_ts_ms')}",
                "invalid_timestamp",
                "concat('Kafka record timestamp ', _ts_ms, ' ms is outside the accepted range (the producer set it: check its clock or the timestamp it passes to send)')",
            ),
            (f"{v} IS NULL", "empty_message", "'message has no value (a tombstone or an empty produce)'"),
            (
                f"octet_length({v}) > {self.max_event_bytes}",
                "oversized",
                f"concat('message is ', octet_length({v}), ' bytes, more than the {self.max_event_bytes}-byte limit (MAX_EVENT_BYTES)')",
            ),
            (f"NOT is_valid_utf8(_text)", "invalid_encoding", "'message value is not valid UTF-8'"),
            (
                # Jackson refuses nesting deeper than 1000 levels, JSON.parse does not: such a
                # text is no event either way, and any nesting is a schema violation.
                f"_json IS NULL AND NOT {_too_deep()}",
                "invalid_json",
                "'value is not valid JSON (Spark parse_json refused it; JSON.parse names the exact position)'",
            ),
            (
                "_o IS NULL",
                "schema_violation",
                f"CASE WHEN _json IS NULL THEN {_too_deep_reason()} ELSE concat('value must be a JSON object, got ', lower(schema_of_variant(_json))) END",
            ),
            ("_schema <> ''", "schema_violation", "_schema"),
            (f"NOT {in_range('_time_ms')}", "schema_violation", "'event_time: outside the accepted range'"),
            ("_spelling IS NOT NULL", "schema_violation", "_spelling"),
            (
                f"instr(_text, '\\\\u') > 0 AND {_nul_escape()}",
                "unsupported_json",
                "'a string contains \\\\u0000 (a NUL character), which Postgres text cannot store'",
            ),
            (
                f"instr(_text, '\\\\u') > 0 AND {_lone_surrogate()}",
                "unsupported_json",
                "'a string contains a lone UTF-16 surrogate escape (\\\\ud800-\\\\udfff without its pair), which Postgres text cannot store'",
            ),
        ]
        cases = " ".join(f"WHEN {cond} THEN named_struct('code', '{code}', 'reason', {reason})" for cond, code, reason in checks)
        decision = F.expr(f"CASE {cases} END")
        ok = decision.isNull()
        return F.struct(
            ok.alias("ok"),
            decision["code"].alias("code"),
            decision["reason"].alias("reason"),
            F.when(ok, F.col("_event_id")).alias("event_id"),
            F.when(ok, F.col("_event_type")).alias("event_type"),
            F.when(ok, F.col("_time_ms") * 1000).alias("event_time_us"),
        )


def _unescaped(text: str = "_text") -> str:
    # The text with every escaped backslash removed: each backslash left starts a real escape.
    return f"replace({text}, '\\\\\\\\', '')"


def _nul_escape() -> str:
    return f"instr({_unescaped()}, '\\\\u0000') > 0"


def _lone_surrogate() -> str:
    pairs = _sql_string(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
    single = _sql_string(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
    return f"rlike(regexp_replace({_unescaped()}, {pairs}, ''), {single})"


JACKSON_MAX_DEPTH = 1000


def _too_deep() -> str:
    """SQL: the text nests arrays or objects deeper than Jackson reads (its StreamReadConstraints),
    counting brackets outside strings. Only asked of a text the parser refused."""
    step = (
        "(a, c) -> CASE "
        "WHEN a.e THEN named_struct('d', a.d, 'm', a.m, 's', a.s, 'e', false) "
        "WHEN a.s AND c = '\\\\' THEN named_struct('d', a.d, 'm', a.m, 's', true, 'e', true) "
        "WHEN c = '\"' THEN named_struct('d', a.d, 'm', a.m, 's', NOT a.s, 'e', false) "
        "WHEN a.s THEN a "
        "WHEN c = '[' OR c = '{' THEN named_struct('d', a.d + 1, 'm', greatest(a.m, a.d + 1), 's', false, 'e', false) "
        "WHEN c = ']' OR c = '}' THEN named_struct('d', a.d - 1, 'm', a.m, 's', false, 'e', false) "
        "ELSE a END"
    )
    start = "named_struct('d', 0, 'm', 0, 's', false, 'e', false)"
    return f"aggregate(split(_text, ''), {start}, {step}, a -> a.m) > {JACKSON_MAX_DEPTH}"


def _too_deep_reason() -> str:
    # The field whose value opens the deep nesting, when the text says so plainly.
    field = _sql_string(r'^[ \t\r\n]*\{.*?"((?:[^"\\]|\\.)*)"[ \t\r\n]*:[ \t\r\n]*[\[{][\[{ \t\r\n]{%d}' % JACKSON_MAX_DEPTH)
    deep = _sql_string(f"nested more than {JACKSON_MAX_DEPTH} levels deep: the contract's fields are flat (see docs/events.schema.json)")
    key = f"regexp_extract(_text, {field}, 1)"
    return f"CASE WHEN {key} <> '' THEN concat({key}, ': unknown field, ', {deep}) ELSE concat('value is ', {deep}) END"


def decided(records: DataFrame, spec: dict[str, Any]) -> DataFrame:
    """Kafka source rows with the Kafka envelope renamed as the raw tables name it, and `v`."""
    rows = records.select(
        "topic",
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        "key",
        "value",
        F.col("timestamp").alias("kafka_timestamp"),
    )
    return Contract(spec).decided(rows, timestamp_ms=F.unix_millis("kafka_timestamp"))


def explain(spec: dict[str, Any]) -> Iterable[str]:
    """The generated SQL, for reading (python -m shopflow_lake.contract_sql_cli --sql)."""
    c = Contract(spec)
    yield json.dumps({"schema": c._schema_problem(), "spelling": c._spelling_problem(), "event_time_ms": c._event_time_ms()}, indent=1)
