{#
    Typed rows of one source table from its typed change log (raw_shop.<table>, docs/cdc.md
    "The typed change log"): one row per snapshot read, insert, update and delete, the source's
    columns with the types of the CDC type map (ingest/cdc/type-map.ts). A delete row carries the
    before image in the columns, every other row its after image. A value the ingestor could not
    put in its column's type is in the row's _unmapped jsonb instead; such a change is left to
    stg_shop__change_rejects (cdc_typed_checks). Truncates and boundaries stay in raw.shop_changes.

    columns: list of (name, type) pairs; type is the Postgres type staging gives the column.
    since_change_id: SQL expression; only changes after it are read (incremental runs).
    after_last_truncate: skip everything logged before the table's latest truncate (current
        state); version history keeps it, but never reaches back past the table's latest
        boundary (cdc_boundary_change_id: a DROP, a CREATE OR REPLACE, a RENAME away, or the
        re-snapshot of a replaced source), because what came before is another table's history.
#}
{% macro cdc_typed_changes(table_name, key_column, columns, since_change_id=none, after_last_truncate=true) -%}
    {%- set raw_types = cdc_raw_column_types(table_name) -%}
    {%- if raw_types is none %}
    -- No change of this table has landed yet (its typed table does not exist).
    select
        null::bigint as _change_id,
        null::text as _operation,
        null::boolean as _is_deleted,
        null::timestamptz as _source_committed_at,
        null::timestamptz as _loaded_at
        {%- for column in columns %},
        null::{{ column[1] }} as {{ column[0] }}
        {%- endfor %}
    where false
    {%- else %}
    select
        changes.change_id as _change_id,
        changes.operation as _operation,
        changes.operation = 'delete' as _is_deleted,
        changes.source_committed_at as _source_committed_at,
        changes._loaded_at
        {%- for column in columns %},
        {{ cdc_typed_value(column[0], column[1], raw_types, 'changes') }} as {{ column[0] }}
        {%- endfor %}
    from {{ cdc_typed_log(table_name) }} as changes
    where
        -- A change staging cannot type is left to stg_shop__change_rejects.
        {{ cdc_typed_row_is_typeable(key_column, columns, raw_types, 'changes') }}
        {%- if since_change_id is not none %}
        and changes.change_id > {{ since_change_id }}
        {%- endif %}
        {%- if after_last_truncate %}
        -- A truncate empties the table: nothing logged before the latest one is current.
        and changes.change_id > coalesce((
            select max(truncates.change_id)
            from {{ cdc_change_log() }} as truncates
            where
                truncates.table_name = '{{ table_name }}'
                and truncates.operation = 'truncate'
        ), 0)
        {%- else %}
        -- History starts at the table's latest boundary: a dropped, replaced or re-sourced
        -- table's earlier versions belong to another world (docs/cdc.md).
        and changes.change_id > {{ cdc_boundary_change_id(table_name) }}
        {%- endif %}
    {%- endif %}
{%- endmacro %}

{#
    Column name -> type (as format_type prints it) of raw_shop.<table>'s source columns, read
    when the model compiles (the ingestor adds and widens columns as the source changes); none
    when the table does not exist yet.
#}
{% macro cdc_raw_column_types(table_name) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('cdc_raw_column_types')(table_name)) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__cdc_raw_column_types(table_name)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__cdc_raw_column_types(table_name) -%}
    {%- if not execute -%}{{ return({}) }}{%- endif -%}
    {%- set relation = source('raw_shop', table_name) -%}
    {#- One query: a row per column, or one row of nulls when the table does not exist. -#}
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

{# Staged source tables whose raw_shop table exists (one catalog query). #}
{% macro cdc_existing_typed_tables() -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set sql -%}
        select relname::text from pg_class
        where relnamespace = to_regnamespace('raw_shop') and relkind in ('r', 'p')
    {%- endset -%}
    {%- set present = run_query(sql).columns[0].values() -%}
    {{ return(shop_source_tables().keys() | select('in', present) | list) }}
{%- endmacro %}

{#
    How staging reads a raw column of type raw_type as data_type: (expression, check) where the
    check is a SQL condition that holds when the value fits (none: it always does). The type map
    gives DATETIME as timestamp without time zone holding UTC, integers as bigint, TINYINT(1)
    booleans as 0/1 bigints; a type the source widened since (ALTER ... MODIFY) is cast through
    its text with pg_input_is_valid guarding the cast.
#}
{% macro cdc_typed_read(column_sql, raw_type, data_type) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('cdc_typed_read')(column_sql, raw_type, data_type)) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__cdc_typed_read(column_sql, raw_type, data_type)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__cdc_typed_read(column_sql, raw_type, data_type) -%}
    {%- set wanted = data_type | replace(' ', '') -%}
    {%- set have = raw_type | replace(' ', '') -%}
    {%- if have == wanted or (wanted == 'timestamptz' and have.startswith('timestamp(') and have.endswith('withtimezone')) -%}
        {{ return((column_sql, none)) }}
    {%- elif data_type == 'text' -%}
        {{ return((column_sql ~ '::text', none)) }}
    {%- elif wanted == 'timestamptz' and have.startswith('timestamp(') -%}
        {{ return(('(' ~ column_sql ~ " at time zone 'UTC')", none)) }}
    {%- elif wanted == 'timestamptz' and have == 'date' -%}
        {{ return(('(' ~ column_sql ~ "::timestamp at time zone 'UTC')", none)) }}
    {%- elif wanted == 'boolean' and have == 'bigint' -%}
        {{ return(('(' ~ column_sql ~ ' <> 0)', none)) }}
    {%- elif wanted == 'integer' and have == 'bigint' -%}
        {{ return((column_sql ~ '::integer', '(' ~ column_sql ~ ' between -2147483648 and 2147483647)')) }}
    {%- elif wanted == 'bigint' and have.startswith('numeric') -%}
        {{ return((column_sql ~ '::bigint', '(' ~ column_sql ~ ' between -9223372036854775808 and 9223372036854775807 and ' ~ column_sql ~ ' = trunc(' ~ column_sql ~ '))')) }}
    {%- elif wanted == 'boolean' -%}
        {{ return(('(' ~ column_sql ~ '::text::integer <> 0)', "pg_input_is_valid(" ~ column_sql ~ "::text, 'integer')")) }}
    {%- else -%}
        {{ return((column_sql ~ '::text::' ~ data_type, "pg_input_is_valid(" ~ column_sql ~ "::text, '" ~ data_type ~ "')")) }}
    {%- endif -%}
{%- endmacro %}

{% macro cdc_typed_value(column_name, data_type, raw_types, relation_alias) -%}
    {%- if column_name in raw_types -%}
        {{ cdc_typed_read(relation_alias ~ '.' ~ cdc_quote(column_name), raw_types[column_name], data_type)[0] }}
    {%- else -%}
        {#- A column no landed change has carried yet. -#}
        null::{{ data_type }}
    {%- endif -%}
{%- endmacro %}

{#
    The checks a change must pass to be staged, as (label, condition that holds when the value
    fits, the value as text, type): a staged column the ingestor put in _unmapped (it did not fit
    the column's raw type: a bigint past range, money past numeric(12,2), a calendar-impossible
    date), and a raw column wider than staging's type. The key must be present.
#}
{% macro cdc_typed_checks(key_column, columns, raw_types, relation_alias) -%}
    {%- set checks = [] -%}
    {%- for column_name, data_type in columns -%}
        {%- set label = ('primary key ' ~ column_name) if column_name == key_column else column_name -%}
        {%- set unmapped = relation_alias ~ "._unmapped ->> '" ~ column_name ~ "'" -%}
        {%- do checks.append((label, unmapped ~ ' is null', unmapped, data_type)) -%}
        {%- if column_name in raw_types -%}
            {%- set column_sql = relation_alias ~ '.' ~ cdc_quote(column_name) -%}
            {%- set check = cdc_typed_read(column_sql, raw_types[column_name], data_type)[1] -%}
            {%- if check is not none -%}
                {%- do checks.append((label, 'coalesce(' ~ check ~ ', true)', column_sql ~ '::text', data_type)) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(checks) }}
{%- endmacro %}

{#
    True when the change can be staged. The _unmapped test is one jsonb ?| per row (almost always
    on a null), not one per column.
#}
{% macro cdc_typed_row_is_typeable(key_column, columns, raw_types, relation_alias) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('cdc_typed_row_is_typeable')(key_column, columns, raw_types, relation_alias)) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__cdc_typed_row_is_typeable(key_column, columns, raw_types, relation_alias)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__cdc_typed_row_is_typeable(key_column, columns, raw_types, relation_alias) -%}
    {%- set names = [] -%}
    {%- for column_name, data_type in columns -%}{%- do names.append("'" ~ column_name ~ "'") -%}{%- endfor -%}
    (
        ({{ relation_alias }}._unmapped is null or not ({{ relation_alias }}._unmapped ?| array[{{ names | join(', ') }}]))
        {%- if key_column in raw_types %}
        and {{ relation_alias }}.{{ cdc_quote(key_column) }} is not null
        {%- endif %}
        {%- for label, condition, value, data_type in cdc_typed_checks(key_column, columns, raw_types, relation_alias) %}
        {%- if not condition.endswith(' is null') %}
        and {{ condition }}
        {%- endif %}
        {%- endfor %}
    )
{%- endmacro %}

{# The failing checks of a change, e.g. "price '1e12' is not a numeric(12, 2)"; null if none. #}
{% macro cdc_typed_reject_reason(key_column, columns, raw_types, relation_alias) -%}
    nullif(concat_ws('; '
        {%- for label, condition, value, data_type in cdc_typed_checks(key_column, columns, raw_types, relation_alias) %},
        case when not ({{ condition }}) then '{{ label }} ' || quote_literal(left({{ value }}, 80)) || ' is not a {{ 'boolean (0/1)' if data_type == 'boolean' else data_type }}' end
        {%- endfor %}
        {%- if key_column in raw_types %},
        case when {{ relation_alias }}.{{ cdc_quote(key_column) }} is null and {{ relation_alias }}._unmapped ->> '{{ key_column }}' is null then 'primary key {{ key_column }} is missing' end
        {%- endif %}
    ), '')
{%- endmacro %}

{#
    Current state of one source table: the latest change per key, deletes removed.

    Incremental: only keys changed since the newest change already in the table are rebuilt
    (delete+insert on the key). A key whose latest change is a delete is written as a
    tombstone and removed again by cdc_remove_tombstones() in the post-hook, so the table only
    ever holds live rows. Every key present in the window has its latest change inside it,
    so the window's latest-per-key is the table's latest-per-key.
#}
{% macro cdc_current_state(table_name, key_column, columns) -%}
    {%- set since = none -%}
    {%- if is_incremental() -%}
        {%- set since = change_watermark('_change_id') -%}
    {%- endif -%}
    with

    changes as (

        {{ cdc_typed_changes(table_name, key_column, columns, since) }}
        {{- shop_history_changes(table_name) }}

    ),

    latest_per_key as (

        {{ cdc_latest_per_key(key_column) }}

    )

    select * from latest_per_key
{%- endmacro %}

{#
    Post-hook of current-state models: drop tombstones, and rows older than the latest
    truncate of the source table (a truncate has no per-key rows to delete+insert).
#}
{% macro cdc_remove_tombstones(table_name) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('cdc_remove_tombstones')(table_name)) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__cdc_remove_tombstones(table_name)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__cdc_remove_tombstones(table_name) -%}
    delete from {{ this }}
    where
        _is_deleted
        -- Rows of an exported history (negative ids, macros/history.sql) are not the table's log.
        or _change_id between 0 and coalesce((
            select max(truncates.change_id)
            from {{ cdc_change_log() }} as truncates
            where
                truncates.table_name = '{{ table_name }}'
                and truncates.operation = 'truncate'
        ), 0) - 1
{%- endmacro %}

{#
    The change_id where a source table's history starts again (0 if never): its latest truncate
    row that is not a TRUNCATE statement. The ingestor logs DROP TABLE, CREATE OR REPLACE TABLE
    and RENAME TABLE away as truncates carrying that statement, and the re-snapshot of a
    replaced source as truncates tagged with its snapshot_id; a TRUNCATE TABLE only empties the
    table, so version history runs on across it.
#}
{% macro cdc_boundary_change_id(table_name) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('cdc_boundary_change_id')(table_name)) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__cdc_boundary_change_id(table_name)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__cdc_boundary_change_id(table_name) -%}
    coalesce((
        select max(boundaries.change_id)
        from {{ cdc_change_log() }} as boundaries
        where
            boundaries.table_name = '{{ table_name }}'
            and boundaries.operation = 'truncate'
            and (
                boundaries.snapshot_id is not null
                or coalesce(boundaries.ddl, '') !~* '^\s*(/\*.*?\*/\s*)*truncate\y'
            )
    ), 0)
{%- endmacro %}

{#
    Post-hook of version-history models: drop versions older than the table's latest boundary
    (cdc_boundary_change_id), which an incremental append has already written.
#}
{% macro cdc_remove_before_boundary(table_name) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('cdc_remove_before_boundary')(table_name)) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__cdc_remove_before_boundary(table_name)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__cdc_remove_before_boundary(table_name) -%}
    delete from {{ this }}
    -- Rows of an exported history (negative ids, macros/history.sql) are not the table's log.
    where _change_id between 0 and {{ cdc_boundary_change_id(table_name) }} - 1
{%- endmacro %}

{# Change-log columns of every raw_shop table ahead of the source's (migration 0140). #}
{% macro cdc_typed_meta_columns() -%}
    {{ return(['change_id', 'operation', 'binlog_file', 'binlog_position', 'row_index', 'gtid',
               'snapshot_id', 'source_committed_at', '_loaded_at', '_key', '_unmapped']) }}
{%- endmacro %}

{#
    Values of `column_name` (bigint) in the before images of the deletes of one source table
    logged after change id `since_change_id`: the keys the shop deleted since then. Empty while
    the table's typed log does not exist.
#}
{% macro cdc_deleted_values(table_name, column_name, since_change_id) -%}
    {%- if cdc_raw_column_types(table_name) is none -%}
    select null::bigint where false
    {%- else -%}
    select deleted.{{ cdc_quote(column_name) }}::bigint
    from {{ cdc_typed_log(table_name) }} as deleted
    where
        deleted.operation = 'delete'
        and deleted.change_id > {{ since_change_id }}
    {%- endif -%}
{%- endmacro %}

{#
    A column name quoted for the warehouse. dbt's adapter does the quoting; SQLFluff renders the
    models without dbt (dbt/.sqlfluff), where there is no adapter, so it gets the plain
    double-quoted name that Postgres uses.
#}
{% macro cdc_quote(name) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.quote(name)) }}
    {%- else -%}
        {{ return('"' ~ name ~ '"') }}
    {%- endif -%}
{%- endmacro %}
