{#
    Staging never dies on one row. A raw row whose values the staging casts cannot hold (an
    integer past bigint, money past numeric(12, 2), an integral field written as 2.0, a
    calendar-impossible date) is left out of staging and listed with its reason by the rejects
    models (stg_shop__change_rejects, stg_clickstream__event_rejects, the ops_staging_rejects
    mart); the build goes on and the marts gate fails on the rejects (docs/dbt.md, "Rejects").

    One list of checks per source serves both sides (CDC: cdc_typed_checks in cdc.sql): staging keeps the rows where every check
    holds, the rejects model keeps the others with the failing checks spelled out. A check is
    (label, text expression, type the staging model casts it to).
#}

{#
    Would `expression` (text, may be null) cast to `data_type` without an error? Postgres 16+
    checks an input without raising (pg_input_is_valid), type modifier included: numeric(12, 2)
    refuses 1e10. Postgres has no try_cast; this is the input function the cast itself runs, so
    "valid" means the cast succeeds. Booleans are staged as integer <> 0.
#}
{% macro is_typeable(expression, data_type) -%}
    coalesce(pg_input_is_valid({{ expression }}, '{{ 'integer' if data_type == 'boolean' else data_type }}'), true)
{%- endmacro %}

{# True when every check holds. One line, so it sits in any model's where clause as written. #}
{% macro all_typeable(checks) -%}
    ({% for label, expression, data_type in checks %}{{ is_typeable(expression, data_type) }}{% if not loop.last %} and {% endif %}{% endfor %})
{%- endmacro %}

{# The failing checks of a row, e.g. "price '1e12' is not a numeric(12, 2)"; null if none fails. #}
{% macro untypeable_reason(checks) -%}
    nullif(concat_ws('; '{% for label, expression, data_type in checks %}, case when not {{ is_typeable(expression, data_type) }} then '{{ label }} ' || quote_literal(left({{ expression }}, 80)) || ' is not a {{ 'boolean (0/1)' if data_type == 'boolean' else data_type }}' end{% endfor %}), '')
{%- endmacro %}

{#
    Clickstream: the payload fields stg_clickstream__events types (its jsonb_to_record column
    list; tests/contracts checks the two agree) for a row landed as JSON (the Kafka ingestor's
    rows come typed, payload null, and only the rules below apply to them), the event type (a type staging's
    accepted_values test would refuse), and an event time inside the window the raw gate
    accepts (an event in year 9999 or 0001 would stretch dim_date across millennia).
#}
{% macro clickstream_payload_types() -%}
    {{ return([
        ('customer_id', 'bigint'),
        ('product_id', 'bigint'),
        ('order_id', 'bigint'),
        ('schema_version', 'integer'),
        ('price', 'numeric(12, 2)'),
        ('quantity', 'integer'),
        ('cart_value', 'numeric(12, 2)'),
        ('item_count', 'integer'),
        ('order_total', 'numeric(12, 2)'),
    ]) }}
{%- endmacro %}

{# The event contract's time range (lib/events/bounds.ts EVENT_TIME_MIN_MS and EVENT_TIME_END_MS; a
   test compares them): what the ingestor admits is typed, so a history from another decade is too,
   and an event in year 9999 written straight into raw is a reject (it would stretch dim_date). #}
{% macro clickstream_event_time_window() -%}
    {{ return({'earliest': '1970-01-01 00:00:00+00', 'end': '2100-01-01 00:00:00+00'}) }}
{%- endmacro %}

{% macro clickstream_payload_checks(relation_alias) -%}
    {%- set checks = [] -%}
    {%- for field, data_type in clickstream_payload_types() -%}
        {%- set _ = checks.append((field, relation_alias ~ ".payload ->> '" ~ field ~ "'", data_type)) -%}
    {%- endfor -%}
    {{ return(checks) }}
{%- endmacro %}

{# Conditions beyond casts, as (sql condition that must hold, reason when it does not). #}
{% macro clickstream_row_rules(relation_alias) -%}
    {%- set window = clickstream_event_time_window() -%}
    {{ return([
        (
            relation_alias ~ ".payload is null or jsonb_typeof(" ~ relation_alias ~ ".payload) = 'object'",
            "'payload is a JSON ' || jsonb_typeof(" ~ relation_alias ~ ".payload) || ', not an object'",
        ),
        (
            relation_alias ~ ".event_type in ('" ~ clickstream_event_types() | join("', '") ~ "')",
            "'event_type ' || quote_literal(left(" ~ relation_alias ~ ".event_type, 80)) || ' is not a clickstream event type'",
        ),
        (
            relation_alias ~ ".event_time >= timestamptz '" ~ window.earliest ~ "' and " ~ relation_alias
                ~ ".event_time < timestamptz '" ~ window.end ~ "'",
            "'event_time ' || " ~ relation_alias ~ ".event_time::text || ' is before " ~ window.earliest
                ~ " or not before " ~ window.end ~ "'",
        ),
    ]) }}
{%- endmacro %}

{#
    The rules run first and, in a CASE, guard the casts: a payload that is not an object has no
    fields to check.
#}
{% macro clickstream_row_is_typeable(relation_alias = 'shop_events') -%}
    (case when not ({% for condition, reason in clickstream_row_rules(relation_alias) %}({{ condition }}){% if not loop.last %} and {% endif %}{% endfor %}) then false else {{ all_typeable(clickstream_payload_checks(relation_alias)) }} end)
{%- endmacro %}

{% macro clickstream_row_is_rejected(relation_alias = 'shop_events') -%}
    ({{ clickstream_row_is_typeable(relation_alias) }} is false)
{%- endmacro %}

{% macro clickstream_untypeable_reason(relation_alias = 'shop_events') -%}
    nullif(concat_ws('; '{% for condition, reason in clickstream_row_rules(relation_alias) %}, case when not ({{ condition }}) then {{ reason }} end{% endfor %}, case when jsonb_typeof({{ relation_alias }}.payload) = 'object' then {{ untypeable_reason(clickstream_payload_checks(relation_alias)) }} end), '')
{%- endmacro %}

{#
    Where the staging model `identifier` (in this model's schema) has got to, read before it
    runs this build: its newest _change_id. A rejects model scans the same window its staging
    model is about to scan, so it must run first (the staging models carry `-- depends_on:` the
    rejects model). None when the staging model does not exist yet: then everything is checked.
    (The clickstream's window is by Kafka offset: clickstream_unstaged_rows.)
#}
{% macro staged_watermark(identifier) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set relation = adapter.get_relation(database = this.database, schema = this.schema, identifier = identifier) -%}
    {%- if relation is none -%}{{ return(none) }}{%- endif -%}
    {%- set sql = 'select coalesce(max(_change_id), 0)::text from ' ~ relation -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{%- endmacro %}
