"""The amount of a tax invoice in words in Hindi and Bengali, with Indian numbering (lakh, crore)."""

from __future__ import annotations

import pytest

from seva_crm.core.billing.words import hindi_words, money_in_words


@pytest.mark.parametrize("n, words", [
    (0, "शून्य"), (7, "सात"), (19, "उन्नीस"), (45, "पैंतालीस"), (77, "सतहत्तर"), (99, "निन्यानवे"),
    (100, "एक सौ"), (101, "एक सौ एक"), (999, "नौ सौ निन्यानवे"), (1000, "एक हज़ार"),
    (3450, "तीन हज़ार चार सौ पचास"), (177000, "एक लाख सतहत्तर हज़ार"),
    (12345678, "एक करोड़ तेईस लाख पैंतालीस हज़ार छह सौ अठहत्तर"),
    (1500000000, "एक सौ पचास करोड़"),
])
def test_hindi_numbers_count_in_lakh_and_crore(n, words):
    assert hindi_words(n) == words


def test_rupees_and_paise_in_hindi():
    assert money_in_words(17700050, "INR", "hi") == "एक लाख सतहत्तर हज़ार रुपये और पचास पैसे मात्र"
    assert money_in_words(17700000, "INR", "hi") == "एक लाख सतहत्तर हज़ार रुपये मात्र"


def test_taka_and_poisha_in_bengali():
    assert money_in_words(345000, "BDT", "bn") == "তিন হাজার চারশত পঞ্চাশ টাকা মাত্র"
    assert money_in_words(1234567825, "BDT", "bn") == "এক কোটি তেইশ লাখ পঁয়তাল্লিশ হাজার ছয়শত আটাত্তর টাকা এবং পঁচিশ পয়সা মাত্র"


def test_english_and_unknown_languages_stay_english():
    assert money_in_words(17700000, "INR", "en") == "One Lakh Seventy-Seven Thousand Rupees Only"
    assert money_in_words(17700000, "INR", "ta") == "One Lakh Seventy-Seven Thousand Rupees Only"
