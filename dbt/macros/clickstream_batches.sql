{#
    Clickstream batches: what an incremental model downstream of stg_clickstream__events reads
    on each run, found from the Kafka positions of the change itself rather than from load
    times. Load times make a poor watermark: a backfill, a re-ingest or a first deployment
    stamps a year of events within a few minutes, and "loaded since the last build minus a
    lookback" then reads all of it again on every cycle of the next hour.

    Each model keeps, in intermediate.clickstream_batches (warehouse migration 0130), the
    offset ranges per topic and partition it has folded in. A run reads the staged events
    above its high-water mark, by staging's index on (kafka_topic, kafka_partition,
    kafka_offset). Staging holds each event once, at its first copy's offset, so a producer's
    re-send of an event already staged is not a new event. (Staging reads raw.shop_events by
    offset the same way: macros/clickstream_unstaged.sql.)
    The range is written by the model's post-hook, in the same transaction as its rows.

    Why offsets are safe: the Kafka ingestor commits a partition's messages in offset order,
    each batch with its position, so the staged messages of a partition are always a prefix
    of its offsets. A message landed but not staged yet has a higher offset than every staged
    one of its partition and is read by the run after staging has it.

    A model fed by another clickstream model (active_users_daily by int_visitor_days,
    conversion_funnel_daily by fct_sessions) reads up to its parent's high-water mark, never
    beyond what the parent has folded in, even when the two are built by separate runs.
#}

{% macro clickstream_batches_relation() -%}
    {{ return(api.Relation.create(database = target.database, schema = 'intermediate', identifier = 'clickstream_batches')) }}
{%- endmacro %}

{#
    The batch this run of the current model reads: a list of {topic, partition, after, up_to,
    events}. On a full build the ranges start at -1 and record what the build read (staging's
    largest offset per partition, or the parent's marks); the model itself reads everything.
    parent: the model name whose marks bound this one (none: staging).
#}
{% macro clickstream_batch(parent = none) -%}
    {#- Before the parse-time return, so that dbt records it as a dependency of the model. -#}
    {%- set staged_relation = ref('stg_clickstream__events') -%}
    {%- if not execute -%}
        {{ return({'full': true, 'ranges': []}) }}
    {%- endif -%}
    {%- set batches = clickstream_batches_relation() -%}
    {%- set incremental = is_incremental() -%}
    {%- set own_marks -%}
        select topic, kafka_partition, max(up_to_offset) as after_offset
        from {{ batches }}
        where model_name = '{{ this.identifier }}' and {{ incremental }}
        group by 1, 2
    {%- endset -%}
    {%- if parent is none and not incremental -%}
        {#- A full build reads all of staging: record its largest offset per partition. -#}
        {%- set batch_sql -%}
            select kafka_topic, kafka_partition, -1, max(kafka_offset), count(*)
            from {{ staged_relation }}
            group by 1, 2
        {%- endset -%}
    {%- else -%}
        {%- set batch_sql -%}
            with recursive

            {% if parent is none -%}
            partitions as (

                -- Every topic and partition staged, by skipping along staging's index on
                -- (kafka_topic, kafka_partition, kafka_offset) (a loose index scan): one probe
                -- per partition, not a read of the table.
                (
                    select staged_event.kafka_topic as topic, staged_event.kafka_partition
                    from {{ staged_relation }} as staged_event
                    order by staged_event.kafka_topic asc, staged_event.kafka_partition asc
                    limit 1
                )
                union all
                select next_partition.topic, next_partition.kafka_partition
                from partitions
                cross join lateral (
                    select staged_event.kafka_topic as topic, staged_event.kafka_partition
                    from {{ staged_relation }} as staged_event
                    where (staged_event.kafka_topic, staged_event.kafka_partition) > (partitions.topic, partitions.kafka_partition)
                    order by staged_event.kafka_topic asc, staged_event.kafka_partition asc
                    limit 1
                ) as next_partition

            ),

            bounds as (

                -- Up to whatever staging holds: the largest staged offset read below.
                select
                    partitions.topic,
                    partitions.kafka_partition,
                    coalesce(own_marks.after_offset, -1) as after_offset,
                    null::bigint as up_to_offset
                from partitions
                left join ({{ own_marks }}) as own_marks
                    on
                        partitions.topic = own_marks.topic
                        and partitions.kafka_partition = own_marks.kafka_partition

            ),
            {%- else %}
            bounds as (

                select
                    parent_marks.topic,
                    parent_marks.kafka_partition,
                    coalesce(own_marks.after_offset, -1) as after_offset,
                    parent_marks.up_to_offset
                from (
                    select topic, kafka_partition, max(up_to_offset) as up_to_offset
                    from {{ batches }}
                    where model_name = '{{ parent }}'
                    group by 1, 2
                ) as parent_marks
                left join ({{ own_marks }}) as own_marks
                    on
                        parent_marks.topic = own_marks.topic
                        and parent_marks.kafka_partition = own_marks.kafka_partition

            ),
            {%- endif %}

            staged as (

                -- Staging holds one row per event_id, at the offset of its first copy: a
                -- producer's re-send lands at a later offset that staging never holds, so it
                -- is not read as new. One range scan of staging's offset index per partition.
                select
                    bounds.topic,
                    bounds.kafka_partition,
                    bounds.after_offset,
                    bounds.up_to_offset,
                    staged_event.kafka_offset
                from bounds
                -- A lateral subquery kept apart (offset 0: not flattened into a join), so each
                -- partition's range is an index condition. As a plain join the planner, guessing
                -- 100 partitions from the recursive scan, merge-joined the whole offset index and
                -- filtered the offsets: 5-12 s at 10x for an empty batch, in every model.
                cross join lateral (
                    select staged_event.kafka_offset
                    from {{ staged_relation }} as staged_event
                    where
                        staged_event.kafka_topic = bounds.topic
                        and staged_event.kafka_partition = bounds.kafka_partition
                        and staged_event.kafka_offset > bounds.after_offset
                        and staged_event.kafka_offset <= coalesce(bounds.up_to_offset, 9223372036854775807)
                    offset 0
                ) as staged_event

            )

            select
                topic,
                kafka_partition,
                after_offset,
                coalesce(up_to_offset, max(kafka_offset)),
                count(*)
            from staged
            group by topic, kafka_partition, after_offset, up_to_offset
        {%- endset -%}
    {%- endif -%}
    {%- set ranges = [] -%}
    {%- for row in run_query(batch_sql).rows -%}
        {%- if row[3] is not none and row[3] > row[2] -%}
            {%- do ranges.append({
                'topic': row[0],
                'partition': row[1] | int,
                'after': row[2] | int,
                'up_to': row[3] | int,
                'events': (row[4] | int) if (parent is none or incremental) else none,
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if parent is not none and not incremental -%}
        {#- A full build of a child reads all of its parent: it is as far as the parent. -#}
        {%- set ranges = [] -%}
        {%- set parent_sql -%}
            select topic, kafka_partition, max(up_to_offset)
            from {{ batches }}
            where model_name = '{{ parent }}'
            group by 1, 2
        {%- endset -%}
        {%- for row in run_query(parent_sql).rows -%}
            {%- do ranges.append({'topic': row[0], 'partition': row[1] | int, 'after': -1, 'up_to': row[2] | int, 'events': none}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({'full': not incremental, 'ranges': ranges}) }}
{%- endmacro %}

{#
    The staged events of a batch, as a subquery (all staged columns). Offsets are literals,
    so each range is one range scan of staging's offset index.
#}
{% macro clickstream_batch_events(batch) -%}
    {%- set staged_relation = ref('stg_clickstream__events') -%}
    {%- if batch.ranges | length == 0 -%}
        select staged.* from {{ staged_relation }} as staged where false
    {%- else -%}
        {#- Scalar conditions, not a join with a VALUES list: joined with VALUES the planner
            hashed the list and scanned all of staging (a parallel scan of 25M rows at 10x on
            every cycle, for each model); as ranges it reads each by the offset index. -#}
        select staged.*
        from {{ staged_relation }} as staged
        where
        {%- for range in batch.ranges %}
            {% if not loop.first %}or {% endif -%}
            (
                staged.kafka_topic = '{{ range.topic | replace("'", "''") }}'
                and staged.kafka_partition = {{ range.partition }}
                and staged.kafka_offset > {{ range.after }}
                and staged.kafka_offset <= {{ range.up_to }}
            )
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{#
    The batch, written into the compiled SQL as a comment: the post-hook records exactly the
    ranges the model read (from this comment), not ranges worked out again later, when more
    rows may have landed. Also a readable account in target/compiled.
#}
{% macro clickstream_batch_marker(batch) -%}
    /* clickstream_batch: {{ tojson(batch) }} */
{%- endmacro %}

{# Post-hook of those models: the ranges read, in the transaction of the rows they gave. #}
{% macro record_clickstream_batch() -%}
    {%- set found = modules.re.search('/\\* clickstream_batch: (.*?) \\*/', compiled_code or '') if execute else none -%}
    {%- set batch = fromjson(found.group(1)) if found else none -%}
    {#- Nothing read and nothing to forget: a statement all the same (an empty one is an error). -#}
    {%- if batch is none or (not batch.full and batch.ranges | length == 0) -%}
        select 1
    {%- else -%}
        {%- set batches = clickstream_batches_relation() -%}
        {%- if batch.full %}
        delete from {{ batches }} where model_name = '{{ this.identifier }}';
        {%- endif %}
        {%- if batch.ranges | length > 0 %}
        insert into {{ batches }} (model_name, topic, kafka_partition, after_offset, up_to_offset, event_count)
        values
        {%- for range in batch.ranges %}
            (
                '{{ this.identifier }}',
                '{{ range.topic | replace("'", "''") }}',
                {{ range.partition }},
                {{ range.after }},
                {{ range.up_to }},
                {{ range.events if range.events is not none else 'null' }}
            )
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
        {%- endif %}
        ;
    {%- endif -%}
{%- endmacro %}

{#
    The batch of raw.shop_events rows (not staged events) a model counts on this run, in the
    same shape as clickstream_batch and recorded the same way (marker, post-hook): per topic and
    partition of raw, from the model's own high-water mark (-1 on a full build, and on the first
    incremental run of a model built before it kept marks: full is then true) to the largest
    offset raw holds now. Read by raw's btree on (topic, kafka_partition, kafka_offset)
    (migration 0255): one probe per partition of each load day, not a scan. The upper bound
    keeps a row that commits while the model runs for the next run, so no row is counted twice
    or missed. event counts are not taken (null): that would be a second read of the rows.
#}
{% macro raw_events_batch() -%}
    {%- set raw_events = source('clickstream', 'shop_events') -%}
    {%- if not execute -%}
        {{ return({'full': true, 'ranges': []}) }}
    {%- endif -%}
    {%- set incremental = is_incremental() -%}
    {%- if incremental -%}
        {#- Built before it kept marks (an upgrade): count everything once more, as a full build. -#}
        {%- set marks_sql -%}
            select count(*) from {{ clickstream_batches_relation() }} where model_name = '{{ this.identifier }}'
        {%- endset -%}
        {%- set incremental = run_query(marks_sql).columns[0].values()[0] > 0 -%}
    {%- endif -%}
    {%- set batch_sql -%}
        with recursive

        partitions as (

            -- Every topic and partition in raw by a loose scan of its position index.
            (
                select landed.topic, landed.kafka_partition
                from {{ raw_events }} as landed
                order by landed.topic asc, landed.kafka_partition asc
                limit 1
            )
            union all
            select next_partition.topic, next_partition.kafka_partition
            from partitions
            cross join lateral (
                select landed.topic, landed.kafka_partition
                from {{ raw_events }} as landed
                where (landed.topic, landed.kafka_partition) > (partitions.topic, partitions.kafka_partition)
                order by landed.topic asc, landed.kafka_partition asc
                limit 1
            ) as next_partition

        ),

        own_marks as (

            select topic, kafka_partition, max(up_to_offset) as after_offset
            from {{ clickstream_batches_relation() }}
            where model_name = '{{ this.identifier }}' and {{ incremental }}
            group by 1, 2

        )

        select
            partitions.topic,
            partitions.kafka_partition,
            coalesce(own_marks.after_offset, -1) as after_offset,
            (
                select max(landed.kafka_offset)
                from {{ raw_events }} as landed
                where landed.topic = partitions.topic and landed.kafka_partition = partitions.kafka_partition
            ) as up_to_offset
        from partitions
        left join own_marks
            on
                partitions.topic = own_marks.topic
                and partitions.kafka_partition = own_marks.kafka_partition
        order by 1, 2
    {%- endset -%}
    {%- set ranges = [] -%}
    {%- for row in run_query(batch_sql).rows -%}
        {%- if row[3] is not none and row[3] > row[2] -%}
            {%- do ranges.append({'topic': row[0], 'partition': row[1] | int, 'after': row[2] | int, 'up_to': row[3] | int, 'events': none}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'full': not incremental, 'ranges': ranges}) }}
{%- endmacro %}

{#
    The raw rows of a raw_events_batch, as a subquery (all raw columns). The ranges are written
    as scalar conditions, not a join with a VALUES list: the planner then estimates each from
    raw's statistics and reads a small batch by the position index (joined with VALUES it
    guessed a third of raw and scanned it).
#}
{% macro raw_events_batch_rows(batch) -%}
    {%- set raw_events = source('clickstream', 'shop_events') -%}
    select landed.*
    from {{ raw_events }} as landed
    where
    {%- if batch.ranges | length == 0 %}
        false
    {%- else %}
        {%- for range in batch.ranges %}
        {% if not loop.first %}or {% endif -%}
        (
            landed.topic = '{{ range.topic | replace("'", "''") }}'
            and landed.kafka_partition = {{ range.partition }}
            and landed.kafka_offset > {{ range.after }}
            and landed.kafka_offset <= {{ range.up_to }}
        )
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
