"""The clickstream contract as Spark SQL expressions, decided in the executors' JVMs.

The clickstream and windows jobs decide with it (contract.py's row-at-a-time Python UDF stays
as the baseline the lake-landing bench measures against). Its shape is chosen for Spark's
analyzer and optimizer, whose rules walk and copy the whole expression tree many times per plan:
each field's rule is a row of data (a struct literal), and one generic check, a lambda over
those rows, decides every field, so the tree holds that check once instead of one CASE per field
and check (docs/lakehouse.md, "One contract"). Verdicts agree with the ingestor's.

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


# One rule per field of the contract, as a row of data: what the one generic check below reads.
# Every rule has every attribute (NULL where the field has no such rule), so they share a type.
_RULE_ATTRIBUTES: list[tuple[str, str]] = [
    ("name", "STRING"),
    ("nullable", "BOOLEAN"),
    ("kind", "STRING"),  # string | number | integer
    ("const_s", "STRING"),
    ("const_n", "DOUBLE"),
    ("const_msg", "STRING"),
    ("enum", "ARRAY<STRING>"),
    ("enum_msg", "STRING"),
    ("min_len", "INT"),
    ("min_len_msg", "STRING"),
    ("max_len", "INT"),
    ("max_len_msg", "STRING"),
    ("pattern", "INT"),  # index into the contract's patterns, which stay literals (compiled once)
    ("minimum", "DOUBLE"),
    ("min_msg", "STRING"),
    ("maximum", "DOUBLE"),
    ("max_msg", "STRING"),
    ("step", "INT"),  # decimals multipleOf allows
    ("step_msg", "STRING"),
    ("spelling", "STRING"),  # integer | money | NULL: lib/events/wire.ts's rule for the field
    ("spelling_msg", "STRING"),
    ("written", "STRING"),  # regex that finds how the field's number was written in the text
]


def _sql_value(value: Any, sql_type: str) -> str:
    if value is None:
        return f"CAST(NULL AS {sql_type})"
    if sql_type == "STRING":
        return _sql_string(value)
    if sql_type == "BOOLEAN":
        return "true" if value else "false"
    if sql_type == "INT":
        return str(int(value))
    if sql_type == "DOUBLE":
        return f"CAST({_num(value)} AS DOUBLE)"
    return f"array({', '.join(_sql_string(v) for v in value)})"


class _Field:
    """One property of the JSON Schema, as one rule row (`rule()`); `_problem` checks any row."""

    def __init__(self, name: str, spec: dict[str, Any], integer: bool, money: bool, money_scale: int, patterns: list[str]):
        self.name = name
        nullable = False
        options = spec.get("anyOf")
        if options:
            nullable = any(o.get("type") == "null" for o in options)
            spec = next(o for o in options if o.get("type") != "null")
        r: dict[str, Any] = {"name": name, "nullable": nullable}
        if spec.get("type") == "string":
            r["kind"] = "string"
            if "const" in spec:
                r["const_s"], r["const_msg"] = spec["const"], f"must be {spec['const']!r}"
            if "enum" in spec:
                r["enum"], r["enum_msg"] = list(spec["enum"]), f"must be one of {', '.join(spec['enum'])}"
            if spec.get("minLength", 0) > 0:
                r["min_len"], r["min_len_msg"] = spec["minLength"], f"must have at least {spec['minLength']} characters"
            if "maxLength" in spec:
                r["max_len"], r["max_len_msg"] = spec["maxLength"], f"must have at most {spec['maxLength']} characters"
            if "pattern" in spec:
                pattern = _js_pattern(spec["pattern"])
                if pattern not in patterns:
                    patterns.append(pattern)
                r["pattern"] = patterns.index(pattern)
        else:
            r["kind"] = "integer" if spec.get("type") == "integer" else "number"
            if "const" in spec:
                r["const_n"], r["const_msg"] = spec["const"], f"must be {spec['const']}"
            if "minimum" in spec:
                r["minimum"], r["min_msg"] = spec["minimum"], f"must be >= {spec['minimum']}"
            if "maximum" in spec:
                r["maximum"], r["max_msg"] = spec["maximum"], f"must be <= {spec['maximum']}"
            if "multipleOf" in spec:
                # As zod decides it for the ingestor: by the decimals written (a DECIMAL's scale).
                step = len(repr(float(spec["multipleOf"])).split(".")[1].rstrip("0") or "")
                r["step"], r["step_msg"] = step, f"must have at most {step} decimals"
        if integer:
            r["spelling"], r["spelling_msg"] = "integer", ": must be a plain integer (no fraction or exponent)"
        elif money:
            r["spelling"], r["spelling_msg"] = "money", f": must have at most {money_scale} decimals and no exponent"
        if integer or money:
            r["written"] = '"' + name + r'"[ \t\r\n]*:[ \t\r\n]*(-?[0-9][0-9.eE+-]*)'
        self.rule = r

    def row(self) -> str:
        """The rule as a SQL struct literal."""
        return "named_struct(" + ", ".join(f"'{a}', {_sql_value(self.rule.get(a), t)}" for a, t in _RULE_ATTRIBUTES) + ")"


def _problem(patterns: list[str]) -> str:
    """SQL over `f` (a field of `_fields`: its rule `r`, schema type `t`, value as text `s` and as a
    double `d`): null when the field is right, what is wrong otherwise."""
    matches = " ".join(f"WHEN {i} THEN rlike(f.s, {_sql_string(p)})" for i, p in enumerate(patterns))
    pattern_ok = f"CASE f.r.pattern {matches} END" if patterns else "true"
    length = "(octet_length(encode(f.s, 'UTF-16LE')) DIV 2)"
    string = (
        "CASE WHEN f.t <> 'STRING' THEN 'must be a string' "
        "WHEN f.s <> f.r.const_s THEN f.r.const_msg "
        "WHEN NOT array_contains(f.r.enum, f.s) THEN f.r.enum_msg "
        # zod counts UTF-16 code units: a character outside the BMP counts twice.
        # UTF-8 bytes >= UTF-16 units >= characters: the exact count only when those disagree.
        f"WHEN char_length(f.s) < f.r.min_len AND {length} < f.r.min_len THEN f.r.min_len_msg "
        f"WHEN octet_length(f.s) > f.r.max_len AND {length} > f.r.max_len THEN f.r.max_len_msg "
        f"WHEN NOT {pattern_ok} THEN 'has the wrong format' END"
    )
    number = (
        "CASE WHEN NOT (f.t IN ('BIGINT', 'DOUBLE') OR startswith(f.t, 'DECIMAL')) THEN 'must be a number' "
        "WHEN f.t = 'DOUBLE' AND (isnan(f.d) OR abs(f.d) = double('infinity')) THEN 'must be a finite number' "
        "WHEN f.r.kind = 'integer' AND f.d <> rint(f.d) THEN 'must be a whole number' "
        "WHEN f.d <> f.r.const_n THEN f.r.const_msg "
        "WHEN f.d < f.r.minimum THEN f.r.min_msg "
        "WHEN f.d > f.r.maximum THEN f.r.max_msg "
        f"WHEN startswith(f.t, 'DECIMAL') AND {_decimal_scale('f.t')} > f.r.step THEN f.r.step_msg END"
    )
    # A condition on a rule the field does not have is NULL, which a CASE takes as false.
    return (
        "CASE WHEN f.t IS NULL THEN NULL "
        "WHEN f.t = 'VOID' THEN CASE WHEN f.r.nullable THEN NULL ELSE 'must not be null' END "
        f"WHEN f.r.kind = 'string' THEN {string} ELSE {number} END"
    )


def _spelling(money_scale: int) -> str:
    """SQL over `f`: ingest/kafka's wire rule (lib/events/wire.ts), from how the variant typed the
    number, with how the number was written (its first occurrence in the text)."""
    bad = (
        "CASE f.r.spelling WHEN 'integer' THEN f.t = 'DOUBLE' OR startswith(f.t, 'DECIMAL') "
        f"WHEN 'money' THEN f.t = 'DOUBLE' OR (startswith(f.t, 'DECIMAL') AND {_decimal_scale('f.t')} > {money_scale}) END"
    )
    return f"CASE WHEN {bad} THEN concat(f.r.name, ': written as ', regexp_extract(_text, f.r.written, 1), f.r.spelling_msg) END"


def _decimal_scale(t: str) -> str:
    # schema_of_variant spells a decimal DECIMAL(precision,scale).
    return f"int(regexp_extract({t}, ',([0-9]+)\\\\)', 1))"


class Contract:
    """The contract as SQL, generated once per job from the settings the TypeScript side sends.

    The branches of the schema (one per event type) share their fields' rules: each field has
    one rule row, whatever the event type, and a branch is only its lists of known and required
    fields. That keeps the generated expression small, which matters: Spark's optimizer walks
    it again for every micro-batch's plan."""

    def __init__(self, spec: dict[str, Any]):
        self.max_event_bytes: int = spec["maxEventBytes"]
        self.max_key_bytes: int = spec["maxKeyBytes"]
        self.time_min_ms: int = spec["eventTimeMinMs"]
        self.time_end_ms: int = spec["eventTimeEndMs"]
        integer_fields = frozenset(spec["integerFields"])
        money_fields = frozenset(spec["moneyFields"])
        self.fields: dict[str, _Field] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.patterns: list[str] = []
        self.money_scale: int = spec["moneyScale"]
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
                self.fields[field] = _Field(field, rule, field in integer_fields, field in money_fields, self.money_scale, self.patterns)
            self.types[name] = (list(props), list(branch["required"]))

    # -- the generated SQL -----------------------------------------------------------------------

    def _lists(self, which: int) -> str:
        """SQL: the known (0) or required (1) fields of `_event_type`'s branch."""
        entries = ", ".join(f"{_sql_string(t)}, array({', '.join(_sql_string(f) for f in lists[which])})" for t, lists in self.types.items())
        return f"map({entries})[_event_type]"

    def _fields(self) -> str:
        """SQL over `_o`, `_t` and `_known`: for each field the event type knows, in the contract's
        order, its rule `r`, its schema type `t` (NULL when absent) and its value as text `s` and
        as a double `d` (read once here, for every check)."""
        rules = f"array({', '.join(f.row() for f in self.fields.values())})"
        return (
            f"transform(filter({rules}, r -> array_contains(_known, r.name)), r -> named_struct("
            "'r', r, 't', _t[r.name], "
            "'s', try_variant_get(_o[r.name], '$', 'string'), "
            "'d', try_variant_get(_o[r.name], '$', 'double')))"
        )

    def _schema_problem(self) -> str:
        """SQL over `_o`, `_t`, `_keys`, `_known`, `_required` and `_fields`: the schema's problems
        joined by '; ', or ''. Every field goes through one generic check, a lambda of the rule
        row: the plan holds that check once, not once per field, which keeps planning fast."""
        names = ", ".join(_sql_string(t) for t in self.types)
        problems = (
            "concat("
            "transform(array_except(_keys, _known), k -> concat(k, ': unknown field')), "
            "transform(array_except(_required, _keys), k -> concat(k, ': missing')), "
            f"filter(transform(_fields, f -> concat(f.r.name, ': ', {_problem(self.patterns)})), p -> p IS NOT NULL))"
        )
        return (
            f"CASE WHEN _t['event_type'] IS DISTINCT FROM 'STRING' OR NOT array_contains(array({names}), _event_type) "
            f"THEN {_sql_string('event_type: must be one of ' + ', '.join(self.types))} "
            f"ELSE array_join({problems}, '; ') END"
        )

    def _spelling_problem(self) -> str:
        """SQL over `_fields`: the first field whose number is written as the contract does not allow, or NULL."""
        return f"get(filter(transform(_fields, f -> {_spelling(self.money_scale)}), p -> p IS NOT NULL), 0)"

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
        staged = staged.select("*", F.expr(f"CASE WHEN _o IS NOT NULL THEN {self._fields()} END").alias("_fields"))
        staged = staged.select("*", F.expr(f"CASE WHEN _o IS NOT NULL THEN {self._schema_problem()} END").alias("_schema"))
        staged = staged.select(
            "*",
            F.expr(f"CASE WHEN _schema = '' THEN {self._event_time_ms()} END").alias("_time_ms"),
            F.expr(f"CASE WHEN _schema = '' THEN {self._spelling_problem()} END").alias("_spelling"),
        )
        verdict = self._verdict(key, value)
        internal = ["_text", "_ts_ms", "_json", "_o", "_keys", "_t", "_event_type", "_event_time", "_event_id", "_known", "_required", "_fields", "_schema", "_time_ms", "_spelling"]
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
    yield json.dumps(
        {"fields": c._fields(), "schema": c._schema_problem(), "spelling": c._spelling_problem(), "event_time_ms": c._event_time_ms()}, indent=1
    )
