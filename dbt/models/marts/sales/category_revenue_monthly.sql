{#
    Net revenue per product category per month (category as it was when the order was
    placed), every month x category present, with month-over-month growth.
#}
{{ category_revenue_by_period('month') }}
