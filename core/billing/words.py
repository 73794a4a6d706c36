"""The amount of a tax invoice in words, in the reader's language, with Indian numbering (crore,
lakh, thousand, hundred) as Indian and Bangladeshi invoices write it.

English is ``core.common.localise.money_in_words``; Bengali is num2words (its ``bn`` counts in
lakh and crore); Hindi, which num2words does not have, is below: Hindi has a word of its own
for every number up to 99, so it is a table, and the rest is the same grouping."""

from __future__ import annotations

from num2words import num2words

from seva_crm.core.common import localise

_HI = (
    "शून्य एक दो तीन चार पाँच छह सात आठ नौ दस ग्यारह बारह तेरह चौदह पंद्रह सोलह सत्रह अठारह उन्नीस "
    "बीस इक्कीस बाईस तेईस चौबीस पच्चीस छब्बीस सत्ताईस अट्ठाईस उनतीस तीस इकतीस बत्तीस तैंतीस चौंतीस पैंतीस "
    "छत्तीस सैंतीस अड़तीस उनतालीस चालीस इकतालीस बयालीस तैंतालीस चवालीस पैंतालीस छियालीस सैंतालीस अड़तालीस "
    "उनचास पचास इक्यावन बावन तिरपन चौवन पचपन छप्पन सत्तावन अट्ठावन उनसठ साठ इकसठ बासठ तिरसठ चौंसठ पैंसठ "
    "छियासठ सड़सठ अड़सठ उनहत्तर सत्तर इकहत्तर बहत्तर तिहत्तर चौहत्तर पचहत्तर छिहत्तर सतहत्तर अठहत्तर उनासी "
    "अस्सी इक्यासी बयासी तिरासी चौरासी पचासी छियासी सत्तासी अट्ठासी नवासी नब्बे इक्यानवे बानवे तिरानवे "
    "चौरानवे पचानवे छियानवे सत्तानवे अट्ठानवे निन्यानवे"
).split()
assert len(_HI) == 100

UNITS = {  # (major, minor, "only") by language and currency
    "hi": {"INR": ("रुपये", "पैसे"), "BDT": ("टका", "पैसा"), "only": "मात्र", "and": "और"},
    "bn": {"INR": ("রুপি", "পয়সা"), "BDT": ("টাকা", "পয়সা"), "only": "মাত্র", "and": "এবং"},
}


def hindi_words(n: int) -> str:
    """177000 -> 'एक लाख सतहत्तर हज़ार'."""
    if n < 100:
        return _HI[n]
    words: list[str] = []
    crore, n = divmod(n, 10_000_000)
    if crore:
        words += [hindi_words(crore), "करोड़"]
    for size, name in ((100_000, "लाख"), (1000, "हज़ार"), (100, "सौ")):
        count, n = divmod(n, size)
        if count:
            words += [_HI[count], name]
    if n:
        words.append(_HI[n])
    return " ".join(words)


def bengali_words(n: int) -> str:
    """177000 -> 'এক লাখ সাতাত্তর হাজার' (num2words)."""
    return num2words(n, lang="bn")


def reader_language(value: str | None) -> str:
    """The language words are written in: 'hi', 'bn' or 'en' (anything else, or nothing)."""
    lang = (value or "en").split("-")[0].split("_")[0].lower()
    return lang if lang in UNITS else "en"


def money_in_words(amount: int, currency: str, language: str | None = "en") -> str:
    """Minor units in words in ``language`` (en, hi, bn; anything else: English), e.g.
    17700050 INR in Hindi -> 'एक लाख सतहत्तर हज़ार रुपये और पचास पैसे मात्र'."""
    lang = reader_language(language)
    if lang == "en":
        return localise.money_in_words(amount, currency)
    spell = hindi_words if lang == "hi" else bengali_words
    units = UNITS[lang]
    major_name, minor_name = units.get(currency, (currency, ""))
    major, minor = divmod(abs(amount), 100)
    text = f"{spell(major)} {major_name}"
    if minor:
        text += f" {units['and']} {spell(minor)} {minor_name}".rstrip()
    return f"{text} {units['only']}"
