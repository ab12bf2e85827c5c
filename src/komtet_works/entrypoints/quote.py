"""`komtet-works quote`: price an estimate with the seed tariff."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from komtet_works.adapters.clock import SystemClock
from komtet_works.domain.policy import Policy
from komtet_works.domain.pricing import Tariff, parse_hours, price
from komtet_works.entrypoints.presenters import quote_breakdown, quote_json, show

if TYPE_CHECKING:
    from komtet_works.entrypoints.cli import Subparsers


def register(subparsers: Subparsers) -> None:
    """The commands of this module: `quote`."""
    quote = subparsers.add_parser(
        "quote",
        help="price an estimate with the seed tariff",
        description="Price an estimate of working hours with the seed tariff.",
    )
    quote.add_argument(
        "--hours", required=True, help="the estimated working hours, a decimal such as 2.5"
    )
    quote.add_argument(
        "--maintenance",
        action="store_true",
        help="the site is under an active Site Maintenance subscription (20%% discount)",
    )
    quote.add_argument("--json", action="store_true", help="print the quote as one JSON document")
    quote.set_defaults(handler=run_quote)


def run_quote(arguments: argparse.Namespace) -> int:
    quote = price(
        Tariff(),
        parse_hours(arguments.hours),
        maintained_site=arguments.maintenance,
        issued_at=SystemClock().now(),
        valid_for=Policy().quote_valid_for,
    )
    if arguments.json:  # only what is shown: the breakdown's local time loads pendulum's locale
        show(quote_json(quote), [], as_json=True)
    else:
        show(None, quote_breakdown(quote), as_json=False)
    return 0
