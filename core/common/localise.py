"""Money and dates as a reader expects them, through Babel: the one place they are formatted.

- Money: integer minor units in, the currency's symbol and the locale's grouping out: INR in an
  Indian locale groups by lakh and crore (``₹1,77,000.00``); Bengali (``bn``) writes Bengali
  digits (``৳১,৭৭,০০০.০০``). Hindi text keeps Western digits, as Indian bills do.
- Dates: the locale's medium form with its month names (``11 मार्च 2026``, ``১১ মার্চ, ২০২৬``).
- Amounts in words (for tax invoices): Indian English numbering, rupees and paise (or taka and
  poisha): ``One Lakh Seventy-Seven Thousand Rupees Only``.

A language (``en``, ``hi``, ``bn``) is paired with the region of the money to pick the locale:
``en`` + INR is ``en_IN``, ``en`` + BDT is ``en_IN`` (Bangladesh groups by lakh too), ``hi`` is ``hi_IN``, ``bn`` is ``bn_BD``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

MINOR_DIGITS = {"INR": 2, "BDT": 2}
_LOCALES = {("en", "INR"): "en_IN", ("en", "BDT"): "en_IN", ("hi", "INR"): "hi_IN", ("hi", "BDT"): "hi_IN",
            ("bn", "INR"): "bn_IN", ("bn", "BDT"): "bn_BD"}
_DEFAULT_CURRENCY = {"en": "INR", "hi": "INR", "bn": "BDT"}
# Babel's bn locales use the taka sign; its Latin-digit number system is used for en/hi
_BENGALI_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")


def locale_for(language: str | None, currency: str | None = None) -> str:
    lang = (language or "en").split("-")[0].split("_")[0].lower()
    lang = lang if lang in _DEFAULT_CURRENCY else "en"
    return _LOCALES[(lang, currency if currency in MINOR_DIGITS else _DEFAULT_CURRENCY[lang])]


def to_major(amount: int, currency: str) -> Decimal:
    """Minor units as an exact decimal of the major unit: 17700000 -> Decimal('177000.00')."""
    return Decimal(amount).scaleb(-MINOR_DIGITS.get(currency, 2))


def money(amount: int, currency: str, language: str | None = "en") -> str:
    """17700000 INR -> '₹1,77,000.00' (en, hi); 17700000 BDT in bn -> '৳১,৭৭,০০০.০০'."""
    locale = locale_for(language, currency)
    text = format_currency(to_major(amount, currency), currency, locale=locale, format_type="standard",
                           currency_digits=True)
    return _digits(_symbol_first(text, currency), locale)


def number(value: int | Decimal, language: str | None = "en", currency: str | None = None) -> str:
    """A plain number grouped as the locale groups it (lakh and crore for India)."""
    locale = locale_for(language, currency)
    return _digits(format_decimal(value, locale=locale), locale)


def day(value: date, language: str | None = "en", currency: str | None = None) -> str:
    """11 Mar 2026 / 11 मार्च 2026 / ১১ মার্চ, ২০২৬."""
    locale = locale_for(language, currency)
    return _digits(format_date(value, format="medium", locale=locale), locale)


def moment(value: datetime, timezone: str, language: str | None = "en", currency: str | None = None) -> str:
    """A date and time in the tenant's timezone (a Mushak-6.3 invoice carries its time of issue)."""
    locale = locale_for(language, currency)
    return _digits(format_datetime(value, format="medium", tzinfo=timezone, locale=locale), locale)


def _digits(text: str, locale: str) -> str:
    return text.translate(_BENGALI_DIGITS) if locale.startswith("bn") else text


def _symbol_first(text: str, currency: str) -> str:
    """The sign first, always (Bengali locales put it after the number, '১,০০০.০০৳'; English
    ones know the taka only by its code, 'BDT1,000.00')."""
    sign = {"INR": "₹", "BDT": "৳"}.get(currency)
    if not sign:
        return text
    negative = text.startswith("-")
    body = text.lstrip("-").replace(currency, "").replace(sign, "").strip("\u00a0 ")
    return ("-" if negative else "") + sign + body


# --- amounts in words (Indian numbering: thousand, lakh, crore) -----------------------------------

_ONES = ("Zero One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen Fourteen Fifteen "
         "Sixteen Seventeen Eighteen Nineteen").split()
_TENS = "_ _ Twenty Thirty Forty Fifty Sixty Seventy Eighty Ninety".split()
UNITS = {"INR": ("Rupees", "Paise"), "BDT": ("Taka", "Poisha")}


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [_ONES[n // 100], "Hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else ""))
    elif n:
        words.append(_ONES[n])
    return words


def indian_words(n: int) -> str:
    """177000 -> 'One Lakh Seventy-Seven Thousand' (crore, lakh, thousand, hundred)."""
    if n == 0:
        return "Zero"
    words: list[str] = []
    crore, n = divmod(n, 10_000_000)
    if crore:
        words += [indian_words(crore), "Crore"]
    lakh, n = divmod(n, 100_000)
    if lakh:
        words += [*_below_thousand(lakh), "Lakh"]
    thousand, n = divmod(n, 1000)
    if thousand:
        words += [*_below_thousand(thousand), "Thousand"]
    words += _below_thousand(n)
    return " ".join(words)


def money_in_words(amount: int, currency: str) -> str:
    """17700050 INR -> 'One Lakh Seventy-Seven Thousand Rupees and Fifty Paise Only'."""
    major_name, minor_name = UNITS.get(currency, (currency, "cents"))
    major, minor = divmod(abs(amount), 100)
    text = f"{indian_words(major)} {major_name}"
    if minor:
        text += f" and {indian_words(minor)} {minor_name}"
    return text + " Only"
