{#
    Net revenue per product category per ISO week (category as it was when the order was
    placed), every week x category present, with week-over-week growth.
#}
{{ category_revenue_by_period('week') }}
