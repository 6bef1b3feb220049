"""Building numbers as people write them: ``苏州花园3幢2单元301室`` is building ``3`` of compound
``苏州花园``. The rules :mod:`geo.ledger` matches a household ledger's rows to the buildings with.

Both a ledger's building cell and the buildings' key are normalised by :func:`split_building` into
(compound, number): full-width characters made half-width, Chinese numerals made digits, the
marker (幢, 栋, 号楼, 楼, 座, #, 号) and what follows it (单元, 室) dropped, the text before the
number kept as the compound. Two compounds are :func:`compatible` when they are the same, one
contains the other, or one is missing.

Examples
--------
>>> split_building("苏州花园3幢2单元301室")
('苏州花园', '3')
>>> split_building("十二号楼"), chinese_number("二十一")
(('', '12'), 21)
>>> compatible("苏州花园", "苏州花园小区"), compatible("苏州花园", "金狮巷")
(True, False)
"""

from __future__ import annotations

import math
import re
import unicodedata

__all__ = ["split_building", "chinese_number", "clean_compound", "compatible"]

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN = "零〇一二三四五六七八九两十百千"
_STRONG = r"(?:号楼|号幢|号栋|幢|栋|座|楼|#)"
_NUM = r"(?P<num>[A-Z]?\d+(?:-\d+)?[A-Z]?)"
_MARKED = re.compile(rf"第?{_NUM}\s*{_STRONG}")
_NUMBERED = re.compile(rf"第?{_NUM}\s*号")
_BARE = re.compile(rf"^(?P<pre>.*?){_NUM}$")
_CN_BEFORE_MARK = re.compile(rf"[{_CN}]+(?=\s*(?:号|幢|栋|座|楼|#))")
_COMPOUND_SUFFIX = re.compile(r"(小区|社区|新村)$")

def chinese_number(text: str) -> int | None:
    """A Chinese numeral as an integer (``None`` if it is not one).

    >>> chinese_number("三"), chinese_number("十二"), chinese_number("二十三"), chinese_number("一百零五")
    (3, 12, 23, 105)
    >>> chinese_number("一二"), chinese_number("花园")
    (12, None)
    """
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    if not any(ch in _CN_UNITS for ch in text):  # digit by digit: 一二 = 12
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total, digit = 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
    return total + (digit or 0)


def _clean_number(num: str) -> str:
    # leading zeros of each group go: 03 → 3, A03 → A3, 3-01 → 3-1
    return re.sub(r"(?<!\d)0+(?=\d)", "", num)


def clean_compound(text: str) -> str:
    text = re.sub(r"[\s,，;；:：()（）\-_/]+$", "", text.strip())
    return _COMPOUND_SUFFIX.sub("", text)


def split_building(text) -> tuple[str, str] | None:
    """A building as Chinese addresses write it, as ``(compound, number)``; ``None`` if there is none.

    The rules, in order:

    1. NFKC: full-width digits, letters and signs become ASCII (``３号`` → ``3号``, ``＃`` → ``#``);
       letters are upper-cased, spaces dropped, ``之``/``—`` read as ``-``.
    2. Chinese numerals before a marker become digits (``三号楼`` → ``3号楼``, ``十二栋`` → ``12栋``).
    3. The building is the first number followed by 号楼, 幢, 栋, 座, 楼 or ``#``; else the first
       followed by 号; else a number ending the text. What follows (单元, 室) is dropped.
    4. The text before the number is the compound, without a trailing 小区/社区/新村.
    5. Leading zeros go (``03`` → ``3``).

    >>> [split_building(s)[1] for s in ["3幢", "3栋", "3号楼", "三号楼", "3#", "３号", "03", "第3栋"]]
    ['3', '3', '3', '3', '3', '3', '3', '3']
    >>> split_building("苏州花园小区 3栋"), split_building("苏州花园十二幢1单元")
    (('苏州花园', '3'), ('苏州花园', '12'))
    >>> split_building("A3座"), split_building("3-1幢"), split_building("3之1号楼")
    (('', 'A3'), ('', '3-1'), ('', '3-1'))
    >>> split_building("十全街12号苏州花园3幢201室")
    ('十全街12号苏州花园', '3')
    >>> split_building("合计") is None, split_building("") is None
    (True, True)
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    s = unicodedata.normalize("NFKC", str(text)).upper()
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"[之—–－]", "-", s)
    if not s:
        return None
    s = _CN_BEFORE_MARK.sub(lambda m: str(n) if (n := chinese_number(m.group(0))) is not None else m.group(0), s)
    m = _MARKED.search(s) or _NUMBERED.search(s)
    if m is not None:
        return clean_compound(s[:m.start()]), _clean_number(m.group("num"))
    m = _BARE.match(s)
    if m is not None:
        return clean_compound(m.group("pre")), _clean_number(m.group("num"))
    return None


def compatible(a: str, b: str) -> bool:
    return not a or not b or a == b or a in b or b in a
