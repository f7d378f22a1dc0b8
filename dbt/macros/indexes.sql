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
