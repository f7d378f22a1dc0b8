{#
    Typed rows of one source table from the CDC change log (raw.shop_changes).

    The change log holds every snapshot read and binlog change of every source table, in source
    order (change_id). A row image is jsonb with the column names of generator/ddl/shop.sql:
    DECIMAL as JSON strings, DATETIME as ISO-8601 UTC strings, integers as numbers, TINYINT(1)
    as 0/1. Deletes carry only a before image, so the typed columns read the after image and
    fall back to the before image.

    columns: list of (name, type) pairs; type is a Postgres type name.
    since_change_id: SQL expression; only changes after it are read (incremental runs).
    after_last_truncate: skip everything logged before the table's latest truncate (current
        state); version history keeps it, but never reaches back past the table's latest
        boundary (cdc_boundary_change_id: a DROP, a CREATE OR REPLACE, a RENAME away, or the
        re-snapshot of a replaced source), because what came before is another table's history.
#}
{% macro cdc_typed_changes(table_name, key_column, columns, since_change_id=none, after_last_truncate=true) -%}
    select
        shop_changes.change_id as _change_id,
        shop_changes.operation as _operation,
        shop_changes.operation = 'delete' as _is_deleted,
        shop_changes.source_committed_at as _source_committed_at,
        shop_changes._loaded_at,
        (shop_changes.primary_key ->> '{{ key_column }}')::bigint as {{ key_column }}
        {%- for column in columns %}
        {%- if column[0] != key_column %},
        {{ cdc_cast("coalesce(shop_changes.after_image, shop_changes.before_image) ->> '" ~ column[0] ~ "'", column[1]) }} as {{ column[0] }}
        {%- endif %}
        {%- endfor %}
    from {{ source('shop', 'shop_changes') }} as shop_changes
    where
        shop_changes.table_name = '{{ table_name }}'
        and shop_changes.operation in ('snapshot', 'insert', 'update', 'delete')
        -- A change the casts above cannot hold is left to stg_shop__change_rejects (rejects.sql).
        and {{ cdc_row_is_typeable(key_column, columns) }}
        {%- if since_change_id is not none %}
        and shop_changes.change_id > {{ since_change_id }}
        {%- endif %}
        {%- if after_last_truncate %}
        -- A truncate empties the table: nothing logged before the latest one is current.
        and shop_changes.change_id > coalesce((
            select max(truncates.change_id)
            from {{ source('shop', 'shop_changes') }} as truncates
            where
                truncates.table_name = '{{ table_name }}'
                and truncates.operation = 'truncate'
        ), 0)
        {%- else %}
        -- History starts at the table's latest boundary: a dropped, replaced or re-sourced
        -- table's earlier versions belong to another world (docs/cdc.md).
        and shop_changes.change_id > {{ cdc_boundary_change_id(table_name) }}
        {%- endif %}
{%- endmacro %}

{# JSON text -> typed value. TINYINT(1) booleans arrive as 0/1. #}
{% macro cdc_cast(expression, data_type) -%}
    {%- if data_type == 'boolean' -%}
        (({{ expression }})::integer <> 0)
    {%- else -%}
        ({{ expression }})::{{ data_type }}
    {%- endif -%}
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

    ),

    latest_per_key as (

        select distinct on ({{ key_column }}) *
        from changes
        order by {{ key_column }} asc, _change_id desc

    )

    select * from latest_per_key
{%- endmacro %}

{#
    Post-hook of current-state models: drop tombstones, and rows older than the latest
    truncate of the source table (a truncate has no per-key rows to delete+insert).
#}
{% macro cdc_remove_tombstones(table_name) -%}
    delete from {{ this }}
    where
        _is_deleted
        or _change_id < coalesce((
            select max(truncates.change_id)
            from {{ source('shop', 'shop_changes') }} as truncates
            where
                truncates.table_name = '{{ table_name }}'
                and truncates.operation = 'truncate'
        ), 0)
{%- endmacro %}

{#
    The change_id where a source table's history starts again (0 if never): its latest truncate
    row that is not a TRUNCATE statement. The ingestor logs DROP TABLE, CREATE OR REPLACE TABLE
    and RENAME TABLE away as truncates carrying that statement, and the re-snapshot of a
    replaced source as truncates tagged with its snapshot_id; a TRUNCATE TABLE only empties the
    table, so version history runs on across it.
#}
{% macro cdc_boundary_change_id(table_name) -%}
    coalesce((
        select max(boundaries.change_id)
        from {{ source('shop', 'shop_changes') }} as boundaries
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
    delete from {{ this }}
    where _change_id < {{ cdc_boundary_change_id(table_name) }}
{%- endmacro %}
