"""Each limit has one home, peerlearn/limits.py: the price cap (₹1,00,000, that is 10,000,000
paise) written as a number or in words anywhere else in the app means a second copy that can
drift, and a page and the API would then refuse different prices."""

import io
import re
import tokenize
from pathlib import Path

import pytest

import peerlearn
from peerlearn import limits

PACKAGE = Path(peerlearn.__file__).resolve().parent
HOME = PACKAGE / "limits.py"
# The cap in paise and in rupees. MAX_PAGE is the same number as the rupee cap and lives in
# limits.py too; so is ₹1,000 in paise, which the code writes rupees then paise ("1000_00").
CAP_VALUES = {limits.MAX_PRICE_PAISE, limits.MAX_PRICE_RUPEES}
# "₹1,00,000" in Indian grouping, as messages and templates would spell it.
CAP_IN_WORDS = re.compile(r"1,00,000(?![0-9,])")
# A number in a template or a script (HTML max="100000", a JS constant).
CAP_IN_MARKUP = re.compile(r"(?<![0-9_.,])(?:10_?000_?000|100_?000|1_00_000)(?![0-9_.,])")


def numbers_and_strings(source):
    """The integer literals and the string literals of a Python source, with their lines."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NUMBER:
            try:
                value = int(token.string, 0)
            except ValueError:
                continue  # a float or a complex number
            if value == limits.MAX_PRICE_RUPEES and token.string.endswith("_00"):
                continue  # ₹1,000 written in paise
            yield token.start[0], value, None
        elif token.type == tokenize.STRING or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            yield token.start[0], None, token.string


def cap_copies(source):
    """Lines of a Python source that write the price cap: as a number or as ₹1,00,000."""
    found = []
    for line, value, text in numbers_and_strings(source):
        if value in CAP_VALUES or (text is not None and CAP_IN_WORDS.search(text)):
            found.append(line)
    return found


@pytest.mark.parametrize(
    "source",
    [
        "MAX = 10_000_000\n",
        "MAX = 10000000\n",
        "MAX_RUPEES = 1_00_000\n",
        "limit = 100000\n",
        'message = "Between ₹0 and ₹1,00,000."\n',
        'message = f"Between ₹0 and ₹1,00,000 {x}."\n',
    ],
)
def test_the_check_finds_a_copy_of_the_cap(source):
    assert cap_copies(source) == [1]


@pytest.mark.parametrize(
    "source",
    [
        "MAX = 1_000_000_000\n",
        "MAX = 100_000_000\n",
        "steps = [10000, 20000, 50000]\n",
        'message = "₹1,00,0000"\n',
        "ratio = 100000.5\n",
        "hourly_rate_paise = 1000_00\n",
    ],
)
def test_the_check_leaves_other_numbers_alone(source):
    assert cap_copies(source) == []


def test_the_price_cap_is_written_only_in_limits():
    copies = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == HOME:
            continue
        for line in cap_copies(path.read_text(encoding="utf-8")):
            copies.append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    templates = PACKAGE / "templates"
    for path in sorted(templates.rglob("*")):
        if path.suffix not in (".html", ".txt", ".js"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if CAP_IN_MARKUP.search(line) or CAP_IN_WORDS.search(line):
                copies.append(f"{path.relative_to(PACKAGE.parent)}:{number}")
    assert copies == [], "Import the price cap from peerlearn.limits instead of writing it here"


def test_forms_and_services_share_the_cap():
    from peerlearn.blueprints.community import forms as community_forms
    from peerlearn.blueprints.sessions import forms as session_forms
    from peerlearn.services import session_requests, sessions

    assert limits.MAX_PRICE_PAISE == 100 * limits.MAX_PRICE_RUPEES
    assert sessions.MAX_PRICE_PAISE is limits.MAX_PRICE_PAISE
    assert session_requests.MAX_PRICE_PAISE is limits.MAX_PRICE_PAISE
    for field in (
        session_forms.SessionForm.price,
        community_forms.RequestForm.budget,
        community_forms.AcceptForm.price,
    ):
        ranges = [v for v in field.kwargs["validators"] if hasattr(v, "max") and hasattr(v, "min")]
        assert [(r.max, r.message) for r in ranges] == [(limits.MAX_PRICE_RUPEES, limits.PRICE_MESSAGE)]
