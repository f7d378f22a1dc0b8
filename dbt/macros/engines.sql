{#
    What differs between the project's two targets (docs/dbt.md "Two targets"): Postgres
    (`local`, the default__ implementations, most of them in cdc.sql) and Spark over the Iceberg
    lake (`lakehouse`, the spark__ ones here). Models never branch on the engine themselves;
    they call these macros, which dbt dispatches on the adapter.

    The lake's change log differs in shape from Postgres's: the changes job lands every change of
    every table in one Iceberg table, lake.raw.shop_changes, its row images as JSON text
    (ingest/cdc/values.ts) and its order as binlog coordinates; Postgres has a typed table per
    source table (raw_shop.<table>) and a change_id sequence. The spark__ macros number the
    lake's log in source order and read the images' values with the types of shop_columns(), so
    staging sees the same columns on both.
#}

{# The change log's table-level events and truncates, with change_id (source order). #}
{% macro cdc_change_log() -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('cdc_change_log')()) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__cdc_change_log()) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__cdc_change_log() -%}
    {{ return(source('shop', 'shop_changes')) }}
{%- endmacro %}

{#
    The lake's log numbered like Postgres's change_id: snapshot reads first, then binlog order
    (file, position, row in the event); the Kafka partition and offset only break ties between
    rows of one snapshot. The numbers are dense, so they are not Postgres's values, but they
    order every change the same way, and a change landed later numbers after every earlier one.
#}
{% macro spark__cdc_change_log() -%}
    (
        select
            -- bigint, as Postgres's change_id: Spark's row_number() is an int.
            cast(row_number() over (
                order by
                    case when log.operation = 'snapshot' then 0 else 1 end,
                    log.binlog_file,
                    log.binlog_position,
                    log.row_index,
                    log.kafka_partition,
                    log.kafka_offset
            ) as bigint) as change_id,
            log.source_database,
            log.table_name,
            log.operation,
            log.primary_key,
            log.before_image,
            log.after_image,
            log.binlog_file,
            log.binlog_position,
            log.row_index,
            log.gtid,
            log.snapshot_id,
            log.source_committed_at,
            log.ddl,
            log._loaded_at
        from {{ source('shop', 'shop_changes') }} as log
    )
{%- endmacro %}

{# The typed change log of one source table (raw_shop.<table> on Postgres). #}
{% macro cdc_typed_log(table_name) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('cdc_typed_log')(table_name)) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__cdc_typed_log(table_name)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__cdc_typed_log(table_name) -%}
    {{ return(source('raw_shop', table_name)) }}
{%- endmacro %}

{#
    One source table's row changes from the lake's log: the change-log columns of raw_shop's
    tables, and each source column as the JSON text of its value in the row's image (the before
    image for a delete, as raw_shop holds it); spark__cdc_typed_read types them.
#}
{% macro spark__cdc_typed_log(table_name) -%}
    (
        select
            log.change_id,
            log.operation,
            log.binlog_file,
            log.binlog_position,
            log.row_index,
            log.gtid,
            log.snapshot_id,
            log.source_committed_at,
            log._loaded_at,
            log.primary_key as _key
            {%- for column_name, data_type in shop_columns(table_name) %},
            get_json_object(
                case when log.operation = 'delete' then log.before_image else log.after_image end,
                '$.{{ column_name }}'
            ) as {{ adapter.quote(column_name) }}
            {%- endfor %}
        from {{ cdc_change_log() }} as log
        where
            log.table_name = '{{ table_name }}'
            and log.operation in ('snapshot', 'insert', 'update', 'delete')
    )
{%- endmacro %}

{# Every staged column is in the lake's images, as JSON text. #}
{% macro spark__cdc_raw_column_types(table_name) -%}
    {%- set types = {} -%}
    {%- for column_name, data_type in shop_columns(table_name) -%}
        {%- do types.update({column_name: 'json'}) -%}
    {%- endfor -%}
    {{ return(types) }}
{%- endmacro %}

{#
    Spark's name of a Postgres type: the one list of the project's types (staging's in
    shop_columns(), the marts' contracts in YAML) and what they are called on Spark.
    Spark's timestamp is an instant (its session time zone is UTC), as timestamptz is.
#}
{% macro spark_type(data_type) -%}
    {%- set wanted = data_type | lower | replace(' ', '') -%}
    {%- if wanted in ('text', 'jsonb') -%}{{ return('string') }}
    {%- elif wanted in ('timestamptz', 'timestampwithtimezone') -%}{{ return('timestamp') }}
    {%- elif wanted == 'integer' -%}{{ return('int') }}
    {%- elif wanted.startswith('numeric(') -%}{{ return('decimal' ~ wanted[7:]) }}
    {%- else -%}{{ return(wanted) }}
    {%- endif -%}
{%- endmacro %}

{#
    A JSON text value as data_type: (expression, check that holds when it fits). Timestamps are
    ISO-8601 UTC with a Z (Spark's session time zone is UTC); booleans are the source's 0/1.
#}
{% macro spark__cdc_typed_read(column_sql, raw_type, data_type) -%}
    {%- set spark = spark_type(data_type) -%}
    {%- if spark == 'string' -%}
        {{ return((column_sql, none)) }}
    {%- elif spark == 'boolean' -%}
        {{ return(('(cast(' ~ column_sql ~ ' as int) <> 0)', '(' ~ column_sql ~ ' is null or try_cast(' ~ column_sql ~ ' as int) is not null)')) }}
    {%- else -%}
        {{ return(('cast(' ~ column_sql ~ ' as ' ~ spark ~ ')', '(' ~ column_sql ~ ' is null or try_cast(' ~ column_sql ~ ' as ' ~ spark ~ ') is not null)')) }}
    {%- endif -%}
{%- endmacro %}

{# The lake keeps no _unmapped column: a value fits when it casts; the key must be present. #}
{% macro spark__cdc_typed_row_is_typeable(key_column, columns, raw_types, relation_alias) -%}
    (
        {{ relation_alias }}.{{ adapter.quote(key_column) }} is not null
        {%- for column_name, data_type in columns %}
        {%- set check = cdc_typed_read(relation_alias ~ '.' ~ adapter.quote(column_name), 'json', data_type)[1] %}
        {%- if check is not none %}
        and {{ check }}
        {%- endif %}
        {%- endfor %}
    )
{%- endmacro %}

{# The latest change per key of the CTE `changes`. #}
{% macro cdc_latest_per_key(key_column) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('cdc_latest_per_key')(key_column)) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__cdc_latest_per_key(key_column)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__cdc_latest_per_key(key_column) -%}
        select distinct on ({{ key_column }}) *
        from changes
        order by {{ key_column }} asc, _change_id desc
{%- endmacro %}

{# Spark has no DISTINCT ON: a change with no later change of its key. #}
{% macro spark__cdc_latest_per_key(key_column) -%}
        select candidate.*
        from changes as candidate
        where
            not exists (
                select 1
                from changes as later
                where
                    later.{{ key_column }} = candidate.{{ key_column }}
                    and later._change_id > candidate._change_id
            )
{%- endmacro %}

{# Spark's regular expressions: \b for Postgres's \y, a case-insensitive flag for ~*. #}
{% macro spark__cdc_boundary_change_id(table_name) -%}
    coalesce((
        select max(boundaries.change_id)
        from {{ cdc_change_log() }} as boundaries
        where
            boundaries.table_name = '{{ table_name }}'
            and boundaries.operation = 'truncate'
            and (
                boundaries.snapshot_id is not null
                or not coalesce(boundaries.ddl, '') rlike '(?i)^\\s*(/\\*.*?\\*/\\s*)*truncate\\b'
            )
    ), 0)
{%- endmacro %}

{#
    Incremental strategy of the current-state models, which replace a key's row: delete+insert
    on Postgres, merge on Iceberg (dbt-spark has no delete+insert).
#}
{% macro upsert_strategy() -%}
    {{ return('merge' if target.type == 'spark' else 'delete+insert') }}
{%- endmacro %}

{#
    Incremental strategy of the models that replace every row of a changed group (all the
    categories of a changed day): delete+insert on the group's key on Postgres; on Iceberg an
    overwrite of the partitions the new rows fall in (the model is partitioned by that key
    there; dbt-spark sets dynamic partition overwrite). A group left with no row at all is
    deleted on Postgres but kept on Iceberg until the next full refresh.
#}
{% macro replace_groups_strategy() -%}
    {{ return('insert_overwrite' if target.type == 'spark' else 'delete+insert') }}
{%- endmacro %}

{#
    A literal looked up before a post-hook's DELETE runs: Iceberg's row-level DELETE takes a
    plain condition, not one with a scalar subquery over the numbered log.
#}
{% macro spark_scalar(expression_sql) -%}
    {%- if not execute -%}{{ return(0) }}{%- endif -%}
    {{ return(run_query('select ' ~ expression_sql).columns[0].values()[0]) }}
{%- endmacro %}

{% macro spark__cdc_remove_tombstones(table_name) -%}
    {%- set latest_truncate -%}
        coalesce((
            select max(truncates.change_id)
            from {{ cdc_change_log() }} as truncates
            where
                truncates.table_name = '{{ table_name }}'
                and truncates.operation = 'truncate'
        ), 0)
    {%- endset -%}
    delete from {{ this }}
    where
        _is_deleted
        or _change_id < {{ spark_scalar(latest_truncate) }}
{%- endmacro %}

{% macro spark__cdc_remove_before_boundary(table_name) -%}
    delete from {{ this }}
    where _change_id < {{ spark_scalar(cdc_boundary_change_id(table_name)) }}
{%- endmacro %}

{#
    Contracts: the marts' YAML declares each column's type once, as Postgres names it (Postgres
    creates the table from those names). dbt checks a contract by casting null to each declared
    type and comparing the result's schema with the model's; on Spark the names are translated
    first, so the same YAML holds on both targets. dbt-spark checks names and type families
    only (the Thrift driver reports DECIMAL without precision and scale) and applies not_null
    constraints to Delta tables only, so on Iceberg the not_null columns are held by the data
    tests, which run on both targets.
#}
{% macro spark__get_empty_schema_sql(columns) -%}
    {%- set translated = {} -%}
    {%- for name in columns -%}
        {%- set column = columns[name].copy() -%}
        {%- if column.get('data_type') is not none -%}
            {%- do column.update({'data_type': spark_type(column['data_type'])}) -%}
        {%- endif -%}
        {%- do translated.update({name: column}) -%}
    {%- endfor -%}
    {{ return(dbt.default__get_empty_schema_sql(translated)) }}
{%- endmacro %}

{#
    The UTC calendar date of a timestamptz. Spark's timestamp is an instant shown in the
    session time zone, which the lake's endpoint sets to UTC (lakehouse session_conf).
#}
{% macro utc_date(timestamp_sql) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('utc_date')(timestamp_sql)) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__utc_date(timestamp_sql)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__utc_date(timestamp_sql) -%}
    ({{ timestamp_sql }} at time zone 'UTC')::date
{%- endmacro %}

{% macro spark__utc_date(timestamp_sql) -%}
    cast({{ timestamp_sql }} as date)
{%- endmacro %}

{#
    Seconds since the epoch of a timestamptz as text, written as Postgres writes
    extract(epoch ...)::text (six decimals): the SCD2 version keys hash it, so a version has
    the same key on both targets.
#}
{% macro epoch_text(timestamp_sql) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('epoch_text')(timestamp_sql)) }}
    {%- else -%}
        {{ return(default__epoch_text(timestamp_sql)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__epoch_text(timestamp_sql) -%}
    extract(epoch from {{ timestamp_sql }})::text
{%- endmacro %}

{# Spark cannot extract the epoch: microseconds, divided exactly as decimals. #}
{% macro spark__epoch_text(timestamp_sql) -%}
    cast(cast(cast(unix_micros({{ timestamp_sql }}) as decimal(26, 6)) / 1000000 as decimal(26, 6)) as string)
{%- endmacro %}

{#
    The last row in `order_by` of each group of `partition_by` of the CTE `relation`: DISTINCT
    ON on Postgres, a row number on Spark (which has no DISTINCT ON). order_by sorts the row to
    keep first, as DISTINCT ON's ORDER BY after the group's columns does.
#}
{% macro first_per_group(relation, partition_by, order_by) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('first_per_group')(relation, partition_by, order_by)) }}
    {%- else -%}
        {{ return(default__first_per_group(relation, partition_by, order_by)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__first_per_group(relation, partition_by, order_by) -%}
        select distinct on ({{ partition_by | join(', ') }}) *
        from {{ relation }}
        order by {{ partition_by | join(' asc, ') }} asc, {{ order_by }}
{%- endmacro %}

{% macro spark__first_per_group(relation, partition_by, order_by) -%}
        select * except (_first_per_group)
        from (
            select
                *,
                row_number() over (
                    partition by {{ partition_by | join(', ') }} order by {{ order_by }}
                ) as _first_per_group
            from {{ relation }}
        )
        where _first_per_group = 1
{%- endmacro %}

{#
    One row per day from one date to another (inclusive), as a set-returning expression for a
    select list: generate_series on Postgres, an exploded sequence on Spark.
#}
{% macro days_from_to(from_date_sql, to_date_sql) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('days_from_to')(from_date_sql, to_date_sql)) }}
    {%- else -%}
        {{ return(default__days_from_to(from_date_sql, to_date_sql)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__days_from_to(from_date_sql, to_date_sql) -%}
    generate_series({{ from_date_sql }}, {{ to_date_sql }}, interval '1 day')::date
{%- endmacro %}

{% macro spark__days_from_to(from_date_sql, to_date_sql) -%}
    explode(sequence({{ from_date_sql }}, {{ to_date_sql }}, interval 1 day))
{%- endmacro %}

{#
    Calendar fields of a date, as Postgres names them: 'isodow' (1 = Monday ... 7 = Sunday),
    'doy', and the English labels 'year_month' (YYYY-MM), 'day_name' and 'month_name'.
#}
{% macro date_field(field, date_sql) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('date_field')(field, date_sql)) }}
    {%- else -%}
        {{ return(default__date_field(field, date_sql)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__date_field(field, date_sql) -%}
    {%- if field == 'year_month' -%}to_char({{ date_sql }}, 'YYYY-MM')
    {%- elif field == 'day_name' -%}trim(to_char({{ date_sql }}, 'Day'))
    {%- elif field == 'month_name' -%}trim(to_char({{ date_sql }}, 'Month'))
    {%- else -%}extract({{ field }} from {{ date_sql }})
    {%- endif -%}
{%- endmacro %}

{% macro spark__date_field(field, date_sql) -%}
    {%- if field == 'year_month' -%}date_format({{ date_sql }}, 'yyyy-MM')
    {%- elif field == 'day_name' -%}date_format({{ date_sql }}, 'EEEE')
    {%- elif field == 'month_name' -%}date_format({{ date_sql }}, 'MMMM')
    {%- elif field == 'isodow' -%}extract(dow_iso from {{ date_sql }})
    {%- else -%}extract({{ field }} from {{ date_sql }})
    {%- endif -%}
{%- endmacro %}

{# Integer division that truncates, as Postgres's / does on integers (Spark's / gives a double). #}
{% macro integer_divide(dividend_sql, divisor_sql) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('integer_divide')(dividend_sql, divisor_sql)) }}
    {%- else -%}
        {{ return(default__integer_divide(dividend_sql, divisor_sql)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__integer_divide(dividend_sql, divisor_sql) -%}
    (({{ dividend_sql }}) / ({{ divisor_sql }}))
{%- endmacro %}

{% macro spark__integer_divide(dividend_sql, divisor_sql) -%}
    (({{ dividend_sql }}) div ({{ divisor_sql }}))
{%- endmacro %}

{# A value as text: Postgres's ::text, Spark's string. #}
{% macro as_text(value_sql) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('as_text')(value_sql)) }}
    {%- else -%}
        {{ return(default__as_text(value_sql)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__as_text(value_sql) -%}
    ({{ value_sql }})::text
{%- endmacro %}

{% macro spark__as_text(value_sql) -%}
    cast({{ value_sql }} as string)
{%- endmacro %}

{# The last day of a date's month. #}
{% macro month_last_day(date_sql) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('month_last_day')(date_sql)) }}
    {%- else -%}
        {{ return(default__month_last_day(date_sql)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__month_last_day(date_sql) -%}
    (date_trunc('month', {{ date_sql }}) + interval '1 month - 1 day')::date
{%- endmacro %}

{% macro spark__month_last_day(date_sql) -%}
    last_day({{ date_sql }})
{%- endmacro %}

{# A date some whole months after another (the month's last day when the day does not exist). #}
{% macro add_months(date_sql, months_sql) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('add_months')(date_sql, months_sql)) }}
    {%- else -%}
        {{ return(default__add_months(date_sql, months_sql)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__add_months(date_sql, months_sql) -%}
    ({{ date_sql }} + make_interval(months => {{ months_sql }}))::date
{%- endmacro %}

{% macro spark__add_months(date_sql, months_sql) -%}
    add_months({{ date_sql }}, {{ months_sql }})
{%- endmacro %}

{# A string literal: a quote inside is doubled on Postgres, backslash-escaped on Spark. #}
{% macro sql_text_literal(value) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('sql_text_literal')(value)) }}
    {%- else -%}
        {{ return(default__sql_text_literal(value)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__sql_text_literal(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__sql_text_literal(value) -%}
    '{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{# One row per integer from one to another (inclusive), as a set-returning select-list expression. #}
{% macro integers_from_to(from_sql, to_sql) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('integers_from_to')(from_sql, to_sql)) }}
    {%- else -%}
        {{ return(default__integers_from_to(from_sql, to_sql)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__integers_from_to(from_sql, to_sql) -%}
    generate_series({{ from_sql }}, {{ to_sql }})
{%- endmacro %}

{% macro spark__integers_from_to(from_sql, to_sql) -%}
    explode(sequence({{ from_sql }}, {{ to_sql }}))
{%- endmacro %}

{# The UTC hour (0-23) of a timestamptz. #}
{% macro utc_hour(timestamp_sql) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('utc_hour')(timestamp_sql)) }}
    {%- else -%}
        {{ return(default__utc_hour(timestamp_sql)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__utc_hour(timestamp_sql) -%}
    extract(hour from {{ timestamp_sql }} at time zone 'UTC')
{%- endmacro %}

{% macro spark__utc_hour(timestamp_sql) -%}
    hour({{ timestamp_sql }})
{%- endmacro %}

{# The instant a UTC hour of a date starts, as a timestamptz. #}
{% macro utc_hour_start(date_sql, hour_sql) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('utc_hour_start')(date_sql, hour_sql)) }}
    {%- else -%}
        {{ return(default__utc_hour_start(date_sql, hour_sql)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__utc_hour_start(date_sql, hour_sql) -%}
    ({{ date_sql }} + make_interval(hours => {{ hour_sql }})) at time zone 'UTC'
{%- endmacro %}

{% macro spark__utc_hour_start(date_sql, hour_sql) -%}
    (cast({{ date_sql }} as timestamp) + make_interval(0, 0, 0, 0, {{ hour_sql }}, 0, 0))
{%- endmacro %}
