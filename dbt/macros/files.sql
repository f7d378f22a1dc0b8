{#
    The rows of one file source from its typed table (raw_files.<source>, docs/files.md "What
    lands where"): file_id, line_number, _loaded_at and the declared columns, each read as the
    Postgres type staging gives it. The ingestor types every value by the source's config
    (ingest/files/pg-types.ts), so a column normally arrives in the type staging wants as is.

    columns: list of (name, type) pairs; type is the Postgres type staging gives the column.
    Before the source's first file lands its table does not exist: the model is then empty, not
    an error. A column the config declared after the last landing reads as null. A column the
    ingestor widened (the config declared another type for it later, e.g. text) is cast through
    its text; a value that staging's type cannot hold reads as null, and raw keeps it as landed.
#}
{% macro files_typed_rows(source_name, columns) -%}
    {%- set raw_types = files_raw_column_types(source_name) -%}
    {%- if raw_types is none %}
    -- No file of this source has landed yet (its typed table does not exist).
    select
        null::bigint as file_id,
        null::bigint as line_number,
        null::timestamptz as _loaded_at
        {%- for column in columns %},
        null::{{ column[1] }} as {{ column[0] }}
        {%- endfor %}
    where false
    {%- else %}
    select
        typed_rows.file_id,
        typed_rows.line_number,
        typed_rows._loaded_at
        {%- for column in columns %},
        {{ files_typed_value(column[0], column[1], raw_types) }} as {{ column[0] }}
        {%- endfor %}
    from {{ source('raw_files', source_name) }} as typed_rows
    {%- endif %}
{%- endmacro %}

{% macro files_typed_value(column_name, data_type, raw_types) -%}
    {%- set quoted = 'typed_rows."' ~ column_name ~ '"' -%}
    {%- if column_name not in raw_types -%}
        null::{{ data_type }}
    {%- elif raw_types[column_name] | replace(' ', '') == data_type | replace(' ', '') -%}
        {{ quoted }}
    {%- else -%}
        case when pg_input_is_valid({{ quoted }}::text, '{{ data_type }}') then {{ quoted }}::text::{{ data_type }} end
    {%- endif -%}
{%- endmacro %}

{#
    Column name -> type (as format_type prints it) of raw_files.<source>, read when the model
    compiles (the ingestor creates and widens the table as files land); none when it does not exist.
#}
{% macro files_raw_column_types(source_name) -%}
    {%- if not execute -%}{{ return({}) }}{%- endif -%}
    {%- set relation = source('raw_files', source_name) -%}
    {%- set sql -%}
        select typed.oid is not null, a.attname::text, format_type(a.atttypid, a.atttypmod)
        from (select to_regclass('{{ relation.schema }}.{{ relation.identifier }}') as oid) as typed
        left join pg_attribute as a
            on a.attrelid = typed.oid and a.attnum > 0 and not a.attisdropped
    {%- endset -%}
    {%- set rows = run_query(sql).rows -%}
    {%- if not rows[0][0] -%}{{ return(none) }}{%- endif -%}
    {%- set types = {} -%}
    {%- for row in rows -%}
        {%- do types.update({row[1]: row[2]}) -%}
    {%- endfor -%}
    {{ return(types) }}
{%- endmacro %}
