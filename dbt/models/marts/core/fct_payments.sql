{#
    One row per payment attempt (failed attempts included), with the paying customer.
    Indexed by card and time too: int_order_fraud_signals looks up the attempts around a
    changed order's card attempts.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = 'payment_id',
        incremental_strategy = upsert_strategy(),
        on_schema_change = 'fail',
        meta = {'test_window': '__recent_changes__(source_change_id)'},
        indexes = [
            {'columns': ['payment_id'], 'unique': true},
            {'columns': ['order_id']},
            {'columns': ['source_change_id']},
        ],
        pre_hook = "{{ delete_vanished_rows('payment_id', ref('stg_shop__payments'), 'payments') }}",
        post_hook = ["{{ ensure_index(['card_fingerprint', 'attempted_at']) }}"],
    )
}}

with

payments as (

    select * from {{ ref('stg_shop__payments') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

payments_in_scope as (

    select payments.*
    from payments
    {%- if is_incremental() %}
    where payments._change_id > {{ change_watermark() }}
    {%- endif %}

),

joined as (

    select
        ---------- ids
        payments_in_scope.payment_id,
        payments_in_scope.order_id,
        orders.customer_id,

        ---------- strings
        payments_in_scope.payment_method,
        payments_in_scope.payment_status,
        payments_in_scope.card_fingerprint,
        payments_in_scope.ip_country_code,

        ---------- numerics
        payments_in_scope.amount::numeric(14, 2) as amount,

        ---------- booleans
        payments_in_scope.payment_status = 'failed' as is_failed,

        ---------- dates
        {{ utc_date('payments_in_scope.attempted_at') }} as attempted_date,

        ---------- timestamps
        payments_in_scope.attempted_at,

        ---------- lineage
        payments_in_scope._change_id as source_change_id

    from payments_in_scope
    left join orders
        on payments_in_scope.order_id = orders.order_id

)

select * from joined
