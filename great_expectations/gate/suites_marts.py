"""Expectation suites for the marts (gate "marts", read as role `bi_reader`). Placeholder."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe


def marts_suites() -> list[tuple[str, str, gx.ExpectationSuite]]:
    return [
        ("marts", "fct_orders", gx.ExpectationSuite(name="marts_fct_orders", expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1, description="volume: fct_orders is not empty"),
        ])),
    ]
