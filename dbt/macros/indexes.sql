{#
    Post-hooks that bring an incremental model's indexes to what this version wants. dbt's
    `indexes` config creates indexes only with the table (a first build or a full refresh), so
    a warehouse built by an earlier version would need the model rebuilt whole, and a full
    refresh after raw retention cannot rebuild what left with the archive. These converge on
    the next run instead: ensure_index creates an index under a fixed name if it is missing,
    drop_index_on drops the indexes on exactly the given columns, in that order (whatever
    their names: dbt names its own by a hash). After the first run each is a catalog lookup.
    Spark over Iceberg has no indexes: nothing there.
#}
{% macro ensure_index(columns, unique = false) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('ensure_index')(columns, unique)) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__ensure_index(columns, unique)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__ensure_index(columns, unique) -%}
    create {{ 'unique ' if unique }}index if not exists {{ this.identifier ~ '__' ~ (columns | join('__')) }}
    on {{ this }} ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__ensure_index(columns, unique) -%}
{%- endmacro %}

{% macro drop_index_on(columns) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('drop_index_on')(columns)) }}
    {%- else -%}
        {{ return(default__drop_index_on(columns)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__drop_index_on(columns) -%}
    do $drop_index_on$
    declare
        superseded regclass;
    begin
        for superseded in
            select index_def.indexrelid::regclass
            from pg_index as index_def
            where
                index_def.indrelid = '{{ this }}'::regclass
                and index_def.indexprs is null
                and index_def.indpred is null
                and array(
                    select attribute.attname::text
                    from unnest(index_def.indkey::int2[]) with ordinality as key_column (attnum, position)
                    inner join pg_attribute as attribute
                        on attribute.attrelid = index_def.indrelid and attribute.attnum = key_column.attnum
                    order by key_column.position
                ) = array['{{ columns | join("', '") }}']
        loop
            execute format('drop index %s', superseded);
        end loop;
    end
    $drop_index_on$
{%- endmacro %}

{% macro spark__drop_index_on(columns) -%}
{%- endmacro %}

{#
    Post-hook of an append-only table read by index-only scans (int_visitor_days, read by
    active_users_daily): autovacuum visits it after every insert_threshold new rows, whatever
    its size. An index-only scan skips the heap only on pages the visibility map marks
    all-visible, and only VACUUM marks them; autovacuum's default waits for a fifth of the
    table to be new (1.9M rows of the 10x world's 9.3M, a month of its days), so the month
    active_users_daily reads was never marked and every cycle read it from the heap: 4.5-5.4 s
    against 1.8-2.2 s after a VACUUM at 10x. A vacuum of an append-only table reads only the
    pages added since the last one. Set only when it differs (ALTER TABLE would cancel an
    autovacuum at work on the table). Spark over Iceberg has no vacuum: nothing there.
#}
{% macro vacuum_after_inserts(insert_threshold) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('vacuum_after_inserts')(insert_threshold)) }}
    {%- else -%}
        {{ return(default__vacuum_after_inserts(insert_threshold)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__vacuum_after_inserts(insert_threshold) -%}
    {%- set options = [
        'autovacuum_vacuum_insert_threshold=' ~ insert_threshold,
        'autovacuum_vacuum_insert_scale_factor=0',
    ] -%}
    do $vacuum_after_inserts$
    begin
        if not coalesce(
            (select reloptions from pg_class where oid = '{{ this }}'::regclass)
            @> array['{{ options | join("', '") }}'],
            false
        ) then
            alter table {{ this }} set ({{ options | join(', ') }});
        end if;
    end
    $vacuum_after_inserts$
{%- endmacro %}

{% macro spark__vacuum_after_inserts(insert_threshold) -%}
{%- endmacro %}
