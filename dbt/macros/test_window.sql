{#
    Data tests on the large models scan their whole table: at ten years of history that costs
    more than the cycle's new data. Their `where` config names the column that tells new rows
    from old:

      __recent_rows__(load_time_column)    rows loaded in the window before the newest load
                                           of this table (clickstream, raw tables);
      __recent_changes__(change_id_column) rows carrying a change-log position loaded in the
                                           window before the newest change-log load (models
                                           fed by the CDC change log: _change_id,
                                           source_change_id).

    With var test_recent_hours set only those rows are tested; with var test_loaded_since (a
    timestamp: the scheduler's micro-batch sets it to the start of the last cycle that
    succeeded, less a few minutes) only rows loaded since then, so a cycle tests what it
    changed, even right after a backfill stamped in the same hour; otherwise every row.
    The scheduler passes that timestamp as the environment variable SHOPFLOW_TEST_LOADED_SINCE
    instead (the var wins when both are set): dbt re-parses the whole project when its vars
    change, and this one changes on every cycle. It is read only while tests execute, never
    while parsing, so dbt does not track it and keeps its partial parse. Uniqueness across the whole table stays enforced by the
    models' unique indexes; the nightly build and any plain `dbt build` test everything.
    A model sets the window for all its tests with meta test_window (the same placeholder);
    a test's own `where` takes precedence.
    The bound is looked up first and written as a literal, so the planner uses the column's
    index instead of planning for a third of the table.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') or model_test_window(relation) -%}
    {%- if where -%}
        {%- set hours = var('test_recent_hours', none) -%}
        {%- set since = var('test_loaded_since', none) -%}
        {%- if since is none and execute -%}
            {%- set since = env_var('SHOPFLOW_TEST_LOADED_SINCE', '') or none -%}
        {%- endif -%}
        {#- A namespace: a plain set inside a for loop does not outlive the loop. -#}
        {%- set resolved = namespace(where = where) -%}
        {%- for kind in ['rows', 'changes'] -%}
            {%- set placeholder = modules.re.search('__recent_' ~ kind ~ '__\\((\\w+)\\)', resolved.where) -%}
            {%- if placeholder -%}
                {%- if not execute or (hours is none and since is none) -%}
                    {%- set condition = 'true' -%}
                {%- elif since is not none -%}
                    {%- set condition = rows_since_condition(kind, placeholder.group(1), since) -%}
                {%- else -%}
                    {%- set condition = recent_rows_condition(kind, relation, placeholder.group(1), hours | int) -%}
                {%- endif -%}
                {%- set resolved.where = resolved.where | replace(placeholder.group(0), condition) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ resolved.where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#
    Rows loaded since a point in time: the load-time column itself, or for change-log models
    the first change-log position loaded since then (BRIN range of the change log's load time).
#}
{% macro rows_since_condition(kind, column, since) -%}
    {%- set since_literal = "'" ~ (since | string | replace("'", "")) ~ "'::timestamptz" -%}
    {%- if kind == 'rows' -%}
        {%- do return(column ~ ' >= ' ~ since_literal) -%}
    {%- endif -%}
    {#- The same bound for every test of the invocation: looked up once, not once per test (two
        queries each, a quarter of a micro-batch's compile time over ~90 change-log tests). -#}
    {%- set cache = invocation_cache() -%}
    {%- set cache_key = 'first_change_id_since ' ~ since_literal -%}
    {%- if cache_key not in cache -%}
        {%- set bound_sql -%}
            select min(first_id)::text from (
                {%- for change_log in cdc_change_log_relations() %}
                {%- if not loop.first %} union all{% endif %}
                select min(change_id + 0) as first_id from {{ change_log }}
                where _loaded_at >= {{ since_literal }}
                {%- endfor %}
            ) as firsts
        {%- endset -%}
        {%- do cache.update({cache_key: run_query(bound_sql).columns[0].values()[0]}) -%}
    {%- endif -%}
    {%- set bound = cache[cache_key] -%}
    {#- Nothing loaded since: no row of the model can be new. -#}
    {%- do return(column ~ ' >= ' ~ bound if bound is not none else 'false') -%}
{%- endmacro %}

{% macro recent_rows_condition(kind, relation, column, hours) -%}
    {%- if kind == 'rows' -%}
        {#- The newest load time, looked for in the last day first: the raw tables' load times
            have only a BRIN index, which finds a recent range but cannot hand back a max(); a
            table with nothing loaded for a day is read whole. -#}
        {%- set bound_sql -%}
            select (coalesce(
                (select max({{ column }}) from {{ relation }} where {{ column }} >= now() - interval '1 day'),
                (select max({{ column }}) from {{ relation }})
            ) - interval '{{ hours }} hours')::text
        {%- endset -%}
        {%- set bound = run_query(bound_sql).columns[0].values()[0] -%}
        {%- do return(column ~ " >= '" ~ bound ~ "'::timestamptz" if bound is not none else 'true') -%}
    {%- else -%}
        {%- set since_sql -%}
            {#- The newest change's load time, through each change log's primary key: change_id
                follows load order, and _loaded_at has only a BRIN index (max() over it reads
                the table). -#}
            select (max(newest) - interval '{{ hours }} hours')::text from (
                {%- for change_log in cdc_change_log_relations() %}
                {%- if not loop.first %} union all{% endif %}
                (select _loaded_at as newest from {{ change_log }} order by change_id desc limit 1)
                {%- endfor %}
            ) as newest_loads
        {%- endset -%}
        {%- set since = run_query(since_sql).columns[0].values()[0] -%}
        {%- set bound = none -%}
        {%- if since is not none -%}
            {%- set bound = rows_since_condition('changes', 'change_id', since).split(' >= ')[-1] -%}
            {%- set bound = none if bound == 'false' else bound -%}
        {%- endif -%}
        {%- do return(column ~ " >= " ~ bound if bound is not none else 'true') -%}
    {%- endif -%}
{%- endmacro %}

{#
    The tested model's meta test_window, when the test has no `where` of its own. Looked up
    through the test's own dependencies (a direct lookup: scanning the whole graph for every
    test cost most of a micro-batch's compile time).
#}
{% macro model_test_window(relation) -%}
    {%- if not execute -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- for unique_id in model.depends_on.nodes if unique_id.startswith('model.') -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node and node.relation_name == (relation | string) -%}
            {%- do return(node.config.meta.get('test_window')) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(none) -%}
{%- endmacro %}

{#
    The relations holding change-log positions: raw.shop_changes (truncates, schema changes) and
    every raw_shop table of a staged source table that exists.
#}
{% macro cdc_change_log_relations() -%}
    {%- set relations = [source('shop', 'shop_changes')] -%}
    {%- for table_name in cdc_existing_typed_tables() -%}
        {%- do relations.append(source('raw_shop', table_name)) -%}
    {%- endfor -%}
    {{ return(relations) }}
{%- endmacro %}

{#
    A dict that lives for one dbt invocation and is shared by every node, for lookups whose answer
    cannot change within a run. `graph` is the manifest's flat graph: dbt builds it once per
    invocation and hands the same object to every node's context, so a key of our own beside its
    nodes and sources outlives the node that set it. Threads may race to fill a key; they compute
    the same value.
#}
{% macro invocation_cache() -%}
    {%- if '_shopflow_invocation_cache' not in graph -%}
        {%- do graph.update({'_shopflow_invocation_cache': {}}) -%}
    {%- endif -%}
    {{ return(graph['_shopflow_invocation_cache']) }}
{%- endmacro %}
