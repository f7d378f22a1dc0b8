{#
    Which raw.shop_events rows incremental clickstream staging reads: those past the largest
    Kafka offset stg_clickstream__events holds in their topic and partition, and every row of a
    topic or partition it holds nothing of yet. stg_clickstream__events and its rejects model
    read this same window (the rejects model runs first, against the same staging table).

    Why offsets, not load times: a backfill, a re-ingest or a first deployment stamps a year of
    events within minutes, and "loaded since the newest staged load time, minus a lookback"
    read all of it again on the first cycle after it and on every cycle of the next hour.

    Why this reads each unread row: the Kafka ingestor commits a partition's messages in offset
    order, each batch in the transaction that moves its stored position, and fences a writer
    whose start is not that position (ingest/kafka/warehouse.ts). A transaction that commits
    after staging read its partition (however early it stamped _loaded_at) therefore holds
    only offsets past everything staging read. What staging skips is read again: a re-send of
    an event already staged (dropped by event_id, as before) or a reject after the last staged
    offset of its partition (listed once by the rejects model) is re-read until a later staged
    event passes it, a few rows. A row written into raw by hand must take an offset past its
    partition's last one (or a new partition) to be read, as a Kafka message would.

    The marks are looked up first (one probe of staging's (kafka_topic, kafka_partition,
    kafka_offset) index per partition) and written into the SQL as literals: ranges of raw's
    btree on (topic, kafka_partition, kafka_offset) (warehouse migration 0255), one past each
    mark and one for each gap between the topics and partitions staging knows (where a new
    one would appear), so the planner reads each day partition's index by range instead of
    scanning raw. Each range has scalar bounds: a btree scan ends at the first key past a
    scalar bound, while a row comparison (topic, kafka_partition) < (...) as the upper bound
    was read to the end of the index (EXPLAIN: 19k buffers for a range holding nothing).

    Returns a boolean SQL expression over `relation_alias`; true (read everything) when the
    staging table does not exist yet or holds nothing, and on a full refresh.
#}
{% macro clickstream_unstaged_rows(relation_alias) -%}
    {%- set marks = clickstream_staged_marks() -%}
    {%- if marks is none or marks | length == 0 -%}
        true
    {%- else -%}
        {%- set topic = relation_alias ~ '.topic' -%}
        {%- set partition = relation_alias ~ '.kafka_partition' -%}
        {%- set offset = relation_alias ~ '.kafka_offset' -%}
        {%- set topics = [] -%}
        {%- for mark in marks if mark.topic not in topics -%}{%- do topics.append(mark.topic) -%}{%- endfor -%}
        {#- Scalar bounds only: a btree stops a range at a scalar bound, not at a row comparison's. -#}
        {%- set arms = [] -%}
        {%- for name in topics -%}
            {%- set literal = clickstream_text_literal(name) -%}
            {%- if loop.first -%}
                {%- do arms.append(topic ~ ' < ' ~ literal) -%}
            {%- else -%}
                {%- do arms.append(topic ~ ' > ' ~ clickstream_text_literal(loop.previtem) ~ ' and ' ~ topic ~ ' < ' ~ literal) -%}
            {%- endif -%}
            {%- if loop.last -%}
                {%- do arms.append(topic ~ ' > ' ~ literal) -%}
            {%- endif -%}
            {%- set partitions = marks | selectattr('topic', 'equalto', name) | list -%}
            {%- for mark in partitions -%}
                {%- if loop.first -%}
                    {%- do arms.append(topic ~ ' = ' ~ literal ~ ' and ' ~ partition ~ ' < ' ~ mark.partition) -%}
                {%- elif mark.partition > loop.previtem.partition + 1 -%}
                    {%- do arms.append(topic ~ ' = ' ~ literal ~ ' and ' ~ partition ~ ' > ' ~ loop.previtem.partition ~ ' and ' ~ partition ~ ' < ' ~ mark.partition) -%}
                {%- endif -%}
                {%- do arms.append(topic ~ ' = ' ~ literal ~ ' and ' ~ partition ~ ' = ' ~ mark.partition ~ ' and ' ~ offset ~ ' > ' ~ mark.offset) -%}
                {%- if loop.last -%}
                    {%- do arms.append(topic ~ ' = ' ~ literal ~ ' and ' ~ partition ~ ' > ' ~ mark.partition) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        (
            {%- for arm in arms %}
            {% if not loop.first %}or {% endif %}({{ arm }})
            {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#
    The largest offset stg_clickstream__events holds per topic and partition, in key order, as
    a list of {topic, partition, offset}; none when it is not incremental or does not exist.
    Looked up on the staging table in this model's schema, so the rejects model (built before
    staging) sees the marks staging is about to read from.
#}
{% macro clickstream_staged_marks() -%}
    {%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set staged = adapter.get_relation(database = this.database, schema = this.schema, identifier = 'stg_clickstream__events') -%}
    {%- if staged is none -%}{{ return(none) }}{%- endif -%}
    {%- set marks_sql -%}
        with recursive

        partitions as (

            -- A loose index scan: one probe of the offset index per topic and partition.
            (
                select staged_event.kafka_topic, staged_event.kafka_partition
                from {{ staged }} as staged_event
                order by staged_event.kafka_topic asc, staged_event.kafka_partition asc
                limit 1
            )
            union all
            select next_partition.kafka_topic, next_partition.kafka_partition
            from partitions
            cross join lateral (
                select staged_event.kafka_topic, staged_event.kafka_partition
                from {{ staged }} as staged_event
                where (staged_event.kafka_topic, staged_event.kafka_partition) > (partitions.kafka_topic, partitions.kafka_partition)
                order by staged_event.kafka_topic asc, staged_event.kafka_partition asc
                limit 1
            ) as next_partition

        )

        select
            partitions.kafka_topic,
            partitions.kafka_partition,
            (
                select max(staged_event.kafka_offset)
                from {{ staged }} as staged_event
                where
                    staged_event.kafka_topic = partitions.kafka_topic
                    and staged_event.kafka_partition = partitions.kafka_partition
            ) as kafka_offset
        from partitions
        order by 1, 2
    {%- endset -%}
    {%- set marks = [] -%}
    {%- for row in run_query(marks_sql).rows -%}
        {%- do marks.append({'topic': row[0], 'partition': row[1] | int, 'offset': row[2] | int}) -%}
    {%- endfor -%}
    {{ return(marks) }}
{%- endmacro %}

{% macro clickstream_text_literal(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}
