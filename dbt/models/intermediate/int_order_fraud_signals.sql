{#
    One row per order: the fraud signals its payment attempts show, which int_order_fraud_features
    turns into points. Incremental: a cycle rescores only the orders a change can move, so its
    cost follows the day's orders, not the history (at 10x the shop, every order rescored took
    24-30 s of each 15-minute cycle and of each alert refresh).

    An order's signals read its own attempts and the attempts on the same cards within
    fraud_scoring.card_window_minutes of them. The orders a change can move:
      - the orders that changed (fct_orders.source_change_id also moves with their items and
        payments) or lost a payment or were deleted since the last build (the change log);
      - the orders with a card attempt within the window of one of those orders' card
        attempts, as they are now and as they were: the cards and the attempt span each row
        keeps (card_fingerprints, first_card_attempt_at, last_card_attempt_at) say where an
        edited or deleted attempt used to count.
    tests/dbt/incremental.test.ts checks that the result equals a full refresh.

    Signals (the values are kept, so an alert can say what fired and how strongly):
      card_country_count        IP countries seen on the order's card within
                                fraud_scoring.card_window_minutes (30) of one of its attempts
                                (1 when the card stayed in one country);
      card_customer_count       customer accounts that used that card in the same window;
      max_failures_in_10_min    failed attempts on the order within 10 minutes of each other;
      failed_card_count         distinct cards among the order's failed attempts.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = 'order_id',
        incremental_strategy = upsert_strategy(),
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['order_id'], 'unique': true},
            {'columns': ['source_change_id']},
        ],
        post_hook = [
            "{{ delete_rows_without_source('order_id', ref('fct_orders')) }}",
        ],
    )
}}
{%- set s = var('fraud_scoring') -%}
{%- set card_window = "interval '" ~ s.card_window_minutes ~ " minutes'" -%}
{%- set bucket_seconds = s.card_window_minutes * 60 -%}
with

-- Not materialised, though read several times: a cycle looks up a few orders and the attempts
-- around theirs through the facts' indexes, where a materialised copy of every payment is
-- read whole (29 s of a 10x cycle).
orders as not materialized (

    select * from {{ ref('fct_orders') }}

),

payments as not materialized (

    select * from {{ ref('fct_payments') }}

),

{% if is_incremental() -%}
{%- set watermark = change_watermark() %}
changed_orders as (

    select orders.order_id
    from orders
    where orders.source_change_id > {{ watermark }}
    union
    select deleted_payments.order_id
    from (
        {{ cdc_deleted_values('payments', 'order_id', watermark) }}
    ) as deleted_payments (order_id)
    union
    select deleted_orders.order_id
    from ({{ cdc_deleted_values('orders', 'order_id', watermark) }}) as deleted_orders (order_id)

),

changed_card_spans as (

    -- Where the changed orders' card attempts are now, one row per attempt...
    select
        payments.card_fingerprint,
        payments.attempted_at as first_attempt_at,
        payments.attempted_at as last_attempt_at
    from payments
    where
        payments.order_id in (select changed_orders.order_id from changed_orders)
        and payments.card_fingerprint is not null
        and payments.ip_country_code is not null
    union all
    -- ...and where they were when these orders were last scored.
    select
        kept_cards.card_fingerprint,
        scored.first_card_attempt_at as first_attempt_at,
        scored.last_card_attempt_at as last_attempt_at
    from {{ this }} as scored
    -- (A function in FROM sees the tables before it: no LATERAL needed.)
    cross join
        jsonb_array_elements_text(scored.card_fingerprints) as kept_cards (card_fingerprint)
    where scored.order_id in (select changed_orders.order_id from changed_orders)

),

orders_to_score as (

    select changed_orders.order_id
    from changed_orders
    union
    select payments.order_id
    from payments
    inner join changed_card_spans
        on
            payments.card_fingerprint = changed_card_spans.card_fingerprint
            and payments.attempted_at
            between changed_card_spans.first_attempt_at - {{ card_window }}
            and changed_card_spans.last_attempt_at + {{ card_window }}
    where payments.ip_country_code is not null

),

scored_orders as (

    select
        orders.order_id,
        orders.source_change_id
    from orders
    where orders.order_id in (select orders_to_score.order_id from orders_to_score)

),
{%- else %}
scored_orders as (

    select
        orders.order_id,
        orders.source_change_id
    from orders

),
{%- endif %}

scored_payments as (

    -- Every attempt of the orders being scored: the columns the signals read. Read three
    -- times, so it is materialised.
    select
        payments.payment_id,
        payments.order_id,
        payments.customer_id,
        payments.card_fingerprint,
        payments.ip_country_code,
        payments.attempted_at,
        payments.is_failed
    from payments
    {%- if is_incremental() %}
    where payments.order_id in (select scored_orders.order_id from scored_orders)
    {%- endif %}

),

{%- if is_incremental() %}

scored_card_buckets as (

    -- Each scored card attempt under its window-long time bucket and the buckets either side
    -- (as card_payment_buckets below): card_payments takes the card's attempts within the
    -- window of one, matched by card and bucket. By card alone, a shared card paired each of
    -- its attempts with each scored one (40M pairs, 5.4 s at 10x).
    select
        scored_payments.card_fingerprint,
        scored_payments.attempted_at,
        floor(
            extract(epoch from scored_payments.attempted_at) / {{ bucket_seconds }}
        )::bigint + shifts.shift as neighbour_bucket
    from scored_payments
    cross join (values (-1), (0), (1)) as shifts (shift)
    where scored_payments.card_fingerprint is not null

),
{%- endif %}

card_payments as (

    -- The card attempts the windows look at: on a full build all of them; in a cycle those
    -- within the window of a scored attempt on the same card (nothing farther away is in any
    -- window the signals read; a shared card of the 10x world holds 17k attempts).
    select
        payments.payment_id,
        payments.order_id,
        payments.customer_id,
        payments.card_fingerprint,
        payments.ip_country_code,
        payments.attempted_at,
        -- The window-long time bucket of the attempt (see card_payment_buckets).
        floor(
            extract(epoch from payments.attempted_at) / {{ bucket_seconds }}
        )::bigint as time_bucket
    from payments
    where
        payments.card_fingerprint is not null
        and payments.ip_country_code is not null
    {%- if is_incremental() %}
    and exists (
        select 1
        from scored_card_buckets
        where
            scored_card_buckets.card_fingerprint = payments.card_fingerprint
            and scored_card_buckets.neighbour_bucket = floor(
                extract(epoch from payments.attempted_at) / {{ bucket_seconds }}
            )::bigint
            and payments.attempted_at
            between scored_card_buckets.attempted_at - {{ card_window }}
            and scored_card_buckets.attempted_at + {{ card_window }}
    )
    {%- endif %}

),

cross_country_candidates as (

    -- The scored orders' card payments with another IP country on the same card within the
    -- window either way (30 minutes: a ring's order whose payment failed has its attempts
    -- spread over 30). A range window keeps this linear in the card's payments; only these few
    -- candidates go through the self-join below that counts countries and accounts.
    select card_window.*
    from (
        select
            card_payments.*,
            min(card_payments.ip_country_code) over around_payment as first_country,
            max(card_payments.ip_country_code) over around_payment as last_country
        from card_payments
        window around_payment as (
            partition by card_payments.card_fingerprint
            order by card_payments.attempted_at
            range between {{ card_window }} preceding and {{ card_window }} following
        )
    ) as card_window
    where
        card_window.first_country <> card_window.last_country
        {%- if is_incremental() %}
        and card_window.order_id in (select scored_orders.order_id from scored_orders)
        {%- endif %}

),

card_payment_buckets as (

    -- Each card payment filed under its window-long time bucket and the buckets either side:
    -- a payment within the window of another lies in its bucket or the next, so exactly one of
    -- the three copies shares the other's bucket. The join below then pairs a candidate only
    -- with its card's payments of three buckets, not with all of them: a card used all year
    -- (the 10x world's shared cards hold 17k payments each) made that join grow with the
    -- square of its payments (382 s against 4 s at 1x).
    select
        card_payments.*,
        card_payments.time_bucket + shifts.shift as neighbour_bucket
    from card_payments
    cross join (values (-1), (0), (1)) as shifts (shift)

),

card_neighbourhoods as (

    -- Per order: the most countries and accounts its card showed within the window around one
    -- of its attempts.
    select
        per_payment.order_id,
        max(per_payment.countries) as card_country_count,
        max(per_payment.customers) as card_customer_count
    from (
        select
            candidate.payment_id,
            candidate.order_id,
            count(distinct neighbour.ip_country_code) as countries,
            count(distinct neighbour.customer_id) as customers
        from cross_country_candidates as candidate
        inner join card_payment_buckets as neighbour
            on
                candidate.card_fingerprint = neighbour.card_fingerprint
                and candidate.time_bucket = neighbour.neighbour_bucket
                and neighbour.attempted_at
                between candidate.attempted_at - {{ card_window }}
                and candidate.attempted_at + {{ card_window }}
        group by candidate.payment_id, candidate.order_id
    ) as per_payment
    group by per_payment.order_id

),

card_spans as (

    -- Where each order's card attempts are: the next cycle's changed_card_spans reads them.
    select
        scored_payments.order_id,
        -- jsonb, not an array: dbt's unit tests cannot type an array column.
        jsonb_agg(
            distinct scored_payments.card_fingerprint
            order by scored_payments.card_fingerprint
        ) as card_fingerprints,
        min(scored_payments.attempted_at) as first_card_attempt_at,
        max(scored_payments.attempted_at) as last_card_attempt_at
    from scored_payments
    where
        scored_payments.card_fingerprint is not null
        and scored_payments.ip_country_code is not null
    group by scored_payments.order_id

),

failure_bursts as (

    -- For each failed attempt, the failed attempts on the same order in the 10 minutes from
    -- it (it included). A range window keeps this linear; timestamps have microseconds, so up
    -- to 9:59.999999 after is "within 10 minutes", the end excluded.
    select
        burst_window.order_id,
        max(burst_window.failures_within_10_minutes) as max_failures_in_10_min
    from (
        select
            scored_payments.order_id,
            count(*) over from_attempt as failures_within_10_minutes
        from scored_payments
        where scored_payments.is_failed
        window from_attempt as (
            partition by scored_payments.order_id
            order by scored_payments.attempted_at
            range between current row
            and interval '9 minutes 59.999999 seconds' following
        )
    ) as burst_window
    group by burst_window.order_id

),

failed_cards as (

    select
        scored_payments.order_id,
        count(distinct scored_payments.card_fingerprint) as failed_card_count
    from scored_payments
    where scored_payments.is_failed
    group by scored_payments.order_id

),

signals as (

    select
        scored_orders.order_id,
        coalesce(card_neighbourhoods.card_country_count, 1)::integer as card_country_count,
        coalesce(card_neighbourhoods.card_customer_count, 1)::integer as card_customer_count,
        coalesce(failure_bursts.max_failures_in_10_min, 0)::integer as max_failures_in_10_min,
        coalesce(failed_cards.failed_card_count, 0)::integer as failed_card_count,
        card_spans.card_fingerprints,
        card_spans.first_card_attempt_at,
        card_spans.last_card_attempt_at,
        scored_orders.source_change_id
    from scored_orders
    left join card_neighbourhoods
        on scored_orders.order_id = card_neighbourhoods.order_id
    left join failure_bursts
        on scored_orders.order_id = failure_bursts.order_id
    left join failed_cards
        on scored_orders.order_id = failed_cards.order_id
    left join card_spans
        on scored_orders.order_id = card_spans.order_id

)

select * from signals
