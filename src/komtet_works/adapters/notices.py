"""Notices: a message's facts rendered for people, the one place wording lives.

Each kind of message has a template pair per language in ``templates/<language>/``:
``<kind>.txt`` (a ``subject`` block and the plain-text body) and ``<kind>.html`` (the
HTML body, autoescaped).  Russian is the default language; English ships too.  A host
overrides any template, or adds a language, by putting a file of the same name in its own
directory (``templates=``): no code changes.

Numbers, money, dates and times are formatted for the language by Babel, in the
provider's time zone, to the minute: ``5 марта 2026 г., 12:40 (МСК)``, ``1 600,00 ₽``.
Templates format values with the filters ``money``, ``hours``, ``instant``, ``day`` and
``window`` (a claim window given in hours: ``3 дня``, ``36 часов``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Final

import attrs
import jinja2
import pendulum
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal, get_currency_symbol
from babel.units import format_unit

from komtet_works.domain.errors import InvalidInput
from komtet_works.domain.money import Money
from komtet_works.ports import FACTS, Message

DEFAULT_LANGUAGE: Final = "ru"
PROVIDER_ZONE: Final = "Europe/Moscow"
#: How people name the provider's zone, where Babel has only an offset.
ZONE_LABELS: Final[Mapping[tuple[str, str], str]] = {
    ("Europe/Moscow", "ru"): "МСК",
    ("Europe/Moscow", "en"): "MSK",
}


@attrs.frozen
class Notice:
    """A message as a person reads it: a one-line subject, plain text and HTML."""

    subject: str
    text: str
    html: str


def one_line(text: str) -> str:
    """`text` on one line, fit for a header, whatever a template or a value put in it."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def template_names(language: str, kind: str) -> tuple[str, str]:
    """The plain-text and the HTML template of `kind` in `language`."""
    return f"{language}/{kind}.txt", f"{language}/{kind}.html"


class NoticeRenderer:
    """Renders messages in one `language`, times in `timezone`, from the shipped templates
    and, first, those in the host's `templates` directory if given.

    Every kind's templates are loaded when the renderer is made, so a missing or broken
    template is an `InvalidInput` at start-up, not a message that cannot be sent.
    """

    def __init__(
        self,
        *,
        language: str = DEFAULT_LANGUAGE,
        timezone: str = PROVIDER_ZONE,
        templates: str | Path | None = None,
    ) -> None:
        try:
            self.locale = Locale.parse(language)
        except (ValueError, UnknownLocaleError):
            raise InvalidInput(f"no such language: {language!r}", field="language") from None
        self.language = language
        self.timezone = timezone
        loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("komtet_works.adapters")]
        if templates is not None:
            loaders.insert(0, jinja2.FileSystemLoader(templates))
        self._templates = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._templates.filters.update(
            money=self.money,
            hours=self.hours,
            instant=self.instant,
            day=self.day,
            window=self.window,
        )
        self._pairs = {kind: self._pair(kind.value) for kind in FACTS}

    def _pair(self, kind: str) -> tuple[jinja2.Template, jinja2.Template, jinja2.Template]:
        """The plain-text template of `kind`, the same without its subject, and the HTML."""
        text, html = template_names(self.language, kind)
        try:
            return (
                self._templates.get_template(text),
                self._templates.from_string(
                    f"{{% extends {text!r} %}}{{% block subject %}}{{% endblock %}}"
                ),
                self._templates.get_template(html),
            )
        except jinja2.TemplateError as error:
            raise InvalidInput(
                f"the templates of {kind} in {self.language!r} cannot be used: "
                f"{type(error).__name__}: {error}",
                field="templates",
            ) from None

    def render(self, message: Message) -> Notice:
        """`message` in words.  A template failing on these facts raises
        `jinja2.TemplateError`: a notifier reports it as not sent."""
        text, body, html = self._pairs[message.kind]
        facts = message.facts
        values = {f.name: getattr(facts, f.name) for f in attrs.fields(type(facts))}
        context = {**values, "facts": facts, "order_id": message.order_id}
        subject = "".join(text.blocks["subject"](text.new_context(context)))
        return Notice(
            one_line(subject),
            body.render(context),
            html.render(context),
        )

    # --- the filters -------------------------------------------------------------------

    def money(self, value: Money) -> str:
        """``1 600,00 ₽``; by the currency's name where the language has no symbol for it."""
        named = get_currency_symbol(value.currency, self.locale) == value.currency
        return format_currency(
            value.amount,
            value.currency,
            locale=self.locale,
            format_type="name" if named else "standard",
        )

    def hours(self, value: Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def instant(self, value: pendulum.DateTime) -> str:
        """The date and the time to the minute, in the provider's zone, and the zone."""
        local = value.in_timezone(self.timezone).naive()
        label = ZONE_LABELS.get((self.timezone, self.language)) or format_datetime(
            value.in_timezone(self.timezone), "ZZZZ", locale=self.locale
        )
        date = format_date(local, "long", locale=self.locale)
        return f"{date}, {format_time(local, 'HH:mm', locale=self.locale)} ({label})"

    def window(self, hours: Decimal) -> str:
        """A claim window in whole days where it is some (``3 дня``), else in hours."""
        days, rest = divmod(hours, 24)
        if rest == 0:
            return format_unit(days, "duration-day", locale=self.locale)
        return format_unit(hours, "duration-hour", locale=self.locale)

    def day(self, value: pendulum.DateTime) -> str:
        return format_date(value.in_timezone(self.timezone).naive(), "long", locale=self.locale)
