{#
    SCD2 versions of one entity built from its change-log history (stg_shop__*_versions).

    Each version is valid from its updated_at (business time written by the source) until the
    next version's; a hard delete closes the last version and adds a deleted marker. Several
    changes at the same instant keep the last in source order, and versions follow source
    order even if a clock was set back. The first version starts at
    the row's created_at when that is earlier, so facts placed at creation time find it.

    The version key is md5(id | epoch of valid-from instant): stable across rebuilds, so
    incremental facts keep pointing at the same version.
#}
{% macro scd2_from_versions(versions_relation, key_column, entity_key, columns) -%}
    with

    versions as (

        select
            *,
            case
                when _is_deleted
                    then greatest(
                        coalesce(_source_committed_at, updated_at),
                        updated_at + interval '1 millisecond'
                    )
                else updated_at
            end as raw_effective_at
        from {{ versions_relation }}

    ),

    -- Source order decides which version follows which; a version stamped earlier than the
    -- one before it (a clock set back) starts when its predecessor did, and replaces it.
    in_source_order as (

        select
            *,
            max(raw_effective_at) over (
                partition by {{ key_column }}
                order by _change_id asc
                rows between unbounded preceding and current row
            ) as effective_at
        from versions

    ),

    one_per_instant as (

        {{ first_per_group('in_source_order', [key_column, 'effective_at'], '_change_id desc') }}

    ),

    sequenced as (

        select
            *,
            row_number() over (
                partition by {{ key_column }} order by effective_at asc
            ) as version_number,
            lead(effective_at) over (
                partition by {{ key_column }} order by effective_at asc
            ) as next_effective_at
        from one_per_instant

    ),

    dated as (

        select
            md5(
                {{ as_text(key_column) }} || '|' || {{ epoch_text('effective_at') }}
            ) as {{ entity_key }},
            {{ key_column }},
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            version_number::integer as version_number,
            case
                when version_number = 1 then least(effective_at, created_at)
                else effective_at
            end as valid_from,
            next_effective_at as valid_to,
            (next_effective_at is null and not _is_deleted) as is_current,
            _is_deleted as is_deleted
        from sequenced

    )

    select * from dated
{%- endmacro %}

{#
    Point-in-time join condition: the version of an entity valid at a moment.
    valid_to is exclusive; the open version has valid_to null.
#}
{% macro valid_at(version_relation, moment) -%}
    {{ moment }} >= {{ version_relation }}.valid_from
    and ({{ version_relation }}.valid_to is null or {{ moment }} < {{ version_relation }}.valid_to)
    and not {{ version_relation }}.is_deleted
{%- endmacro %}
