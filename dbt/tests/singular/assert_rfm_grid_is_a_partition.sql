{#
    The R x F grid maps each of the 25 cells to exactly one of the 11 segments, and every
    segment is used: no scored customer can fall through, and no segment is dead.
#}
with

cells as (

    select
        r_score,
        f_score,
        {{ rfm_segment('r_score', 'f_score') }} as rfm_segment
    from generate_series(1, 5) as r_score
    cross join generate_series(1, 5) as f_score

),

expected_segments as (

    select unnest(array[
        {%- for name in rfm_segment_names() %}
        '{{ name | replace("'", "''") }}'{{ ',' if not loop.last }}
        {%- endfor %}
    ]) as rfm_segment

),

unmapped_cells as (

    select 'cell ' || r_score::text || f_score::text || ' has no segment' as problem
    from cells
    where rfm_segment is null

),

unknown_segments as (

    select 'unknown segment ' || cells.rfm_segment as problem
    from cells
    left join expected_segments
        on cells.rfm_segment = expected_segments.rfm_segment
    where cells.rfm_segment is not null and expected_segments.rfm_segment is null

),

unused_segments as (

    select 'segment never assigned: ' || expected_segments.rfm_segment as problem
    from expected_segments
    left join cells
        on expected_segments.rfm_segment = cells.rfm_segment
    where cells.rfm_segment is null

)

select * from unmapped_cells
union all
select * from unknown_segments
union all
select * from unused_segments
