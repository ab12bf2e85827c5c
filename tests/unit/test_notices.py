"""Notices: the facts of a message in Russian or English words, from templates."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Final

import attrs
import jinja2
import pendulum
import pytest
from hypothesis import given

from komtet_works import ClaimWindowMeasure, InvalidInput, InvalidTransition, Money, Policy
from komtet_works.adapters.codec import dumps_facts, loads_facts
from komtet_works.adapters.notices import Notice, NoticeRenderer
from komtet_works.domain.pricing import Quote
from komtet_works.domain.works import ClaimOutcome, Works
from komtet_works.ports import (
    FACTS,
    ClaimDecidedFacts,
    CompletionDateRevisedFacts,
    Facts,
    Message,
    MessageKind,
    QuoteIssuedFacts,
    RefundedFacts,
    SupplementaryQuoteFacts,
    WorksCompletedFacts,
    WorksStartingFacts,
)
from strategies import facts

#: Babel's no-break spaces (in numbers, and before "г."), shown as plain ones to compare.
NO_BREAK: Final = str.maketrans({"\xa0": " ", "\u202f": " "})
#: 09:40:12.345678 UTC: 12:40 in Moscow, with microseconds nobody should see.
AT: Final = pendulum.datetime(2026, 3, 5, 9, 40, 12, 345678, tz="UTC")
QUOTE: Final = QuoteIssuedFacts(
    Quote(
        hours=Decimal("1.3"),
        billable_hours=Decimal(2),
        rate=Money.of("1000.00"),
        gross=Money.of("2000.00"),
        discount=Money.of("400.00"),
        discount_reason="site_maintenance",
        total=Money.of("1600.00"),
        tariff_version="seed",
        issued_at=AT,
        payable_until=AT,
    )
)
RU: Final = NoticeRenderer()
EN: Final = NoticeRenderer(language="en")


def render(renderer: NoticeRenderer, told: Facts) -> Notice:
    """`told` rendered, with no-break spaces as plain ones."""
    notice = renderer.render(message(told))
    return Notice(*(part.translate(NO_BREAK) for part in attrs.astuple(notice)))


def message(told: Facts) -> Message:
    return Message(f"o-1:2:{told.kind.value}", "o-1", "c-1", told)


@pytest.mark.rule("N1")
def test_every_kind_of_message_has_its_facts() -> None:
    """One facts class per MessageKind, so every kind can be stored and worded."""
    assert set(MessageKind) == set(FACTS)


@given(facts())
@pytest.mark.rule("N1")
def test_facts_survive_the_outbox_exactly(told: Facts) -> None:
    """Any facts, encoded as the outbox stores them, decode to the same values."""
    assert told == loads_facts(told.kind, dumps_facts(told))


@pytest.mark.rule("N1")
def test_facts_that_are_not_json_are_refused() -> None:
    """A body that is not the facts' JSON is invalid_input, not a crash of the relay."""
    with pytest.raises(InvalidInput, match="quote_issued"):
        loads_facts(MessageKind.QUOTE_ISSUED, "1400.00 RUB")


@pytest.mark.rule("N1", "N2")
def test_the_quote_in_russian_has_its_whole_breakdown() -> None:
    """Hours, billable hours, rate, discount and why, total and the Moscow payable-until."""
    notice = render(RU, QUOTE)
    assert "Стоимость работ: 1 600,00 ₽, оплатить до 5 марта 2026 г." == notice.subject
    for line in (
        "Оценка специалиста: 1,3 ч",
        "шага тарификации): 2 ч",
        "Ставка: 1 000,00 ₽ за час",
        "Скидка: 400,00 ₽ (сайт на обслуживании по услуге «Сопровождение сайта»)",
        "Итого к оплате: 1 600,00 ₽",
        "Оплатите счёт до 5 марта 2026 г., 12:40 (МСК).",
    ):
        assert line in notice.text
    assert "<th>1 600,00 ₽</th>" in notice.html


@pytest.mark.rule("N2")
def test_amounts_and_dates_do_not_break_across_lines() -> None:
    """Babel's no-break spaces stay in the amounts and dates the customer reads."""
    assert "1\xa0600,00\xa0₽" in RU.render(message(QUOTE)).text
    assert "5 марта 2026\u202fг., 12:40 (МСК)" in RU.render(message(QUOTE)).text


@pytest.mark.rule("N1", "N2")
def test_the_quote_in_english() -> None:
    """The same facts in English: Babel's English numbers, the same Moscow minute."""
    notice = render(EN, QUOTE)
    assert "Your quote: 1,600.00 Russian rubles, payable until March 5, 2026" == notice.subject
    assert "Please pay by March 5, 2026, 12:40 (MSK)." in notice.text


@pytest.mark.rule("N1")
def test_a_quote_without_discount_names_none() -> None:
    """No discount, no discount line."""
    plain = QuoteIssuedFacts(
        attrs.evolve(QUOTE.quote, discount=Money.of("0.00"), discount_reason=None)
    )
    assert ("Скидка" in render(RU, plain).text) is False


@pytest.mark.rule("N1", "H4")
def test_a_supplementary_quote_says_why_in_either_language() -> None:
    """The hours spent and the hours paid for, and that the works wait for the payment."""
    told = attrs.evolve(QUOTE, supplementary=SupplementaryQuoteFacts(Decimal("3.5"), Decimal(2)))
    english, russian = render(EN, told), render(RU, told)
    assert english.subject.startswith("Supplementary quote: 1,600.00 Russian rubles")
    assert "took 3.5 h so far, and 2 h were paid for" in english.text
    assert "took 3.5 h so far, and 2 h were paid for" in english.html
    assert russian.subject.startswith("Дополнительная оценка: 1 600,00 ₽")
    assert "потрачено 3,5 ч, оплачено 2 ч" in russian.text
    assert "We have estimated" not in english.text
    assert "took" not in render(EN, QUOTE).text


@pytest.mark.rule("N1", "N2", "L7")
def test_the_completion_notice_names_the_window_from_its_sending() -> None:
    """No deadline fixed before the notice went out: the window, counted from its sending,
    in days (Babel's units) in subject and body."""
    notice = render(RU, WorksCompletedFacts(AT, Decimal(72), ClaimWindowMeasure.ELAPSED))
    window = "3 дня с момента отправки этого уведомления"
    assert f"Работы выполнены: претензии принимаются {window}" == notice.subject
    assert f"срок подачи — {window}" in notice.text
    assert "<strong>3 дня</strong> с момента отправки" in notice.html
    assert "5 марта 2026 г., 12:40 (МСК)" in notice.text


@pytest.mark.rule("N1", "C1")
def test_a_window_of_hours_is_told_in_hours() -> None:
    """A host's window that is not whole days is told in hours, in either language."""
    facts = WorksCompletedFacts(AT, Decimal(36), ClaimWindowMeasure.ELAPSED)
    assert "претензии принимаются 36 часов с момента" in render(RU, facts).subject
    assert "claims within 36 hours of this notice" in render(EN, facts).subject


@pytest.mark.rule("N1", "L6")
def test_the_works_starting_notice_asks_for_no_changes() -> None:
    """Works have started: please make no changes, until the announced date."""
    notice = render(RU, WorksStartingFacts(AT, AT.add(days=1)))
    assert "Работы начались: пожалуйста, ничего не меняйте" == notice.subject
    assert "не вносите никаких изменений" in notice.text
    assert "(срок: 6 марта 2026 г., 12:40 (МСК))" in notice.text


@pytest.mark.rule("N1", "C3")
def test_a_decision_reason_is_escaped_in_html_and_kept_in_text() -> None:
    """Staff's reason is data: verbatim in plain text, escaped in HTML."""
    reason = '<script>alert("x")</script> & см. договор'
    notice = render(RU, ClaimDecidedFacts(ClaimOutcome.REJECT, reason))
    assert f"Причина: {reason}" in notice.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; см. договор" in notice.html
    assert "<script>" not in notice.html


@pytest.mark.rule("N1", "S2")
def test_a_revised_date_names_the_new_and_the_old_date_and_why() -> None:
    """The customer reads the new date, the one it replaces and staff's reason: verbatim in
    text, escaped in HTML, in both languages."""
    reason = 'the database <is> "larger" & slower'
    told = CompletionDateRevisedFacts(AT.add(days=2), AT, reason)
    ru, en = render(RU, told), render(EN, told)
    assert "Новый срок выполнения работ: 7 марта 2026 г." == ru.subject
    assert "до 7 марта 2026 г., 12:40 (МСК), а не до 5 марта 2026 г., 12:40 (МСК)" in ru.text
    assert f"Причина: {reason}" in ru.text
    assert f"Reason: {reason}" in en.text
    assert "not by" in en.text
    for notice in (ru, en):
        assert "the database &lt;is&gt; &#34;larger&#34; &amp; slower" in notice.html
        assert "<is>" not in notice.html


@pytest.mark.parametrize(
    ("restored", "expected"),
    [
        (True, "Данные восстановлены из резервной копии"),
        (False, "ответьте на это письмо или обратитесь в техническую поддержку"),
        (None, "Заказ отменён до начала работ"),
    ],
)
@pytest.mark.rule("N1", "L8")
def test_a_refund_says_whether_the_data_came_back(restored: bool | None, expected: str) -> None:
    """The refund names its amount and whether the data were restored, and what to do if not."""
    notice = render(RU, RefundedFacts(Money.of("1600.00"), restored))
    assert "Возврат оплаты: 1 600,00 ₽" == notice.subject
    assert expected in notice.text
    assert expected in notice.html


@given(facts())
@pytest.mark.rule("N1")
def test_every_message_renders_in_both_languages_with_a_one_line_subject(told: Facts) -> None:
    """Whatever the facts: a subject on one line, a text and an HTML body, in ru and en."""
    for renderer in (RU, EN):
        notice = renderer.render(message(told))
        assert (True, True, True) == (
            bool(notice.subject) and "\n" not in notice.subject and "\r" not in notice.subject,
            "o-1" in notice.text,
            notice.html.startswith("<!DOCTYPE html>"),
        )


@pytest.mark.rule("N1")
def test_a_host_overrides_one_template_from_a_directory(tmp_path: Path) -> None:
    """A file of the same name in the host's directory wins; the other templates stay."""
    (tmp_path / "ru").mkdir()
    (tmp_path / "ru" / "refunded.txt").write_text(
        "{% block subject %}Деньги\nвернулись {{ amount|money }}{% endblock %}"
        "Вернули {{ amount|money }}.\n",
        encoding="utf-8",
    )
    host = NoticeRenderer(templates=tmp_path)
    notice = render(host, RefundedFacts(Money.of("10.00"), restored=True))
    assert ("Деньги вернулись 10,00 ₽", "Вернули 10,00 ₽.\n") == (
        notice.subject,
        notice.text,
    )
    assert "Данные восстановлены" in notice.html  # the shipped HTML template
    assert render(RU, QUOTE) == render(host, QUOTE)


@pytest.mark.rule("N1")
def test_a_language_without_templates_is_refused_at_start() -> None:
    """German has no templates: invalid_input when the renderer is made, not when sending."""
    with pytest.raises(InvalidInput, match=r"de/quote_issued\.txt"):
        NoticeRenderer(language="de")


@pytest.mark.rule("N1")
def test_an_unknown_language_is_refused() -> None:
    """A language Babel does not know is invalid_input."""
    with pytest.raises(InvalidInput, match="language"):
        NoticeRenderer(language="xx-nowhere")


@pytest.mark.rule("N1")
def test_a_template_that_fails_on_the_facts_raises_a_template_error(tmp_path: Path) -> None:
    """A host template naming a fact that does not exist fails loudly (StrictUndefined)."""
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "refunded.txt").write_text(
        "{% block subject %}{{ nothing }}{% endblock %}", encoding="utf-8"
    )
    with pytest.raises(jinja2.UndefinedError):
        NoticeRenderer(language="en", templates=tmp_path).render(
            message(RefundedFacts(Money.of("10.00"), restored=True))
        )


@pytest.mark.rule("N1", "L7")
def test_works_not_completed_have_no_completion_facts() -> None:
    """Facts of a completion need the completion: refused without it."""
    with pytest.raises(InvalidTransition):
        WorksCompletedFacts.of(Works(), Policy())
