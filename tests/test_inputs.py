"""The query-string readers the admin lists, the catalog and the mentor directory share: one
reading of a yes/no, a whole number and a day, whichever list asks."""

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from peerlearn.exceptions import ValidationError
from peerlearn.inputs import (
    DATE_MESSAGE,
    FLAG_MESSAGE,
    MAX_ID,
    READ_ONLY_MESSAGE,
    SINGLE_LINE_MESSAGE,
    arg_day,
    arg_flag,
    arg_text,
    arg_whole,
    clean_text,
    page_or_first,
    refuse_fields,
    refuse_unknown_fields,
)
from peerlearn.limits import MAX_PAGE


def read(reader, value, **kwargs):
    errors = {}
    result = reader(MultiDict({"x": value}), "x", errors, **kwargs)
    return result, errors.get("x")


def test_text_is_the_first_value_trimmed():
    assert arg_text(MultiDict([("q", "  a b "), ("q", "c")]), "q") == "a b"
    assert arg_text({"q": ["a list"]}, "q") == ""
    assert arg_text({}, "q") == ""


@pytest.mark.parametrize("value", ["1", "true", "YES", "on", "y", " True "])
def test_a_flag_reads_yes(value):
    assert read(arg_flag, value) == (True, None)


@pytest.mark.parametrize("value", ["0", "false", "No", "off", "n"])
def test_a_flag_reads_no(value):
    assert read(arg_flag, value) == (False, None)


def test_an_absent_flag_is_what_the_caller_says():
    assert read(arg_flag, "") == (None, None)
    assert read(arg_flag, "", absent=False) == (False, None)
    assert arg_flag({}, "x", {}, absent=False) is False


def test_a_flag_that_is_no_yes_or_no_is_reported():
    assert read(arg_flag, "maybe") == (None, [FLAG_MESSAGE])
    assert read(arg_flag, "maybe", absent=False) == (False, [FLAG_MESSAGE])


def test_a_whole_number_within_its_range():
    assert read(arg_whole, "7", low=1, high=10) == (7, None)
    assert read(arg_whole, "", low=1, high=10) == (None, None)
    assert read(arg_whole, str(MAX_ID)) == (MAX_ID, None)


@pytest.mark.parametrize("value", ["0", "11", "-1", "1.5", "٣", "²", "1" * 5000])
def test_a_whole_number_out_of_range_or_not_in_digits_is_reported(value):
    assert read(arg_whole, value, low=1, high=10) == (None, ["Use a whole number from 1 to 10."])
    assert read(arg_whole, value, low=1, high=10, message="Pick a page.") == (None, ["Pick a page."])


@pytest.mark.parametrize(
    ("value", "day"), [("2026-12-01", date(2026, 12, 1)), ("2000-01-01", date(2000, 1, 1)), ("", None)]
)
def test_a_day(value, day):
    assert read(arg_day, value) == (day, None)


@pytest.mark.parametrize(
    "value", ["2026-02-30", "1999-12-31", "3000-01-01", "tomorrow", "2026-1-1", "２０２６-12-01"]
)
def test_a_day_that_is_not_one_or_too_far_off_is_reported(value):
    assert read(arg_day, value) == (None, [DATE_MESSAGE])


@pytest.mark.parametrize(
    ("text", "page"),
    [("3", 3), (str(MAX_PAGE), MAX_PAGE), (str(MAX_PAGE + 1), 1), ("0", 1), ("x", 1), (None, 1)],
)
def test_a_page_link_out_of_range_lands_on_the_first_page(text, page):
    assert page_or_first(text) == page


def test_a_body_with_only_writable_fields_passes():
    body = {"rating": 5, "body": "Good"}
    assert refuse_unknown_fields(body, {"rating", "body"}) is body


def test_fields_one_may_not_write_are_each_named():
    with pytest.raises(ValidationError) as caught:
        refuse_unknown_fields({"rating": 5, "mentor_id": 2, "id": 9}, {"rating", "body"})
    assert caught.value.message == "These fields cannot be set: id, mentor_id."
    assert caught.value.fields == {
        "id": ["This field cannot be set."],
        "mentor_id": ["This field cannot be set."],
    }
    assert caught.value.code == "read_only_field"


def test_the_caller_words_the_refusal():
    with pytest.raises(ValidationError) as caught:
        refuse_fields(
            {"email"}, message="These fields cannot be changed here", field_message=READ_ONLY_MESSAGE
        )
    assert caught.value.message == "These fields cannot be changed here: email."
    assert caught.value.fields == {"email": ["This field is read-only."]}
    refuse_fields(set())  # nothing to refuse


def clean(value, **kwargs):
    errors = {}
    return clean_text(value, "f", errors, **kwargs), errors.get("f")


def test_text_is_stored_without_surrounding_spaces():
    assert clean("  Learn Rust  ", max_length=20) == ("Learn Rust", None)
    assert clean(None, max_length=20) == ("", None)


def test_text_is_refused_when_it_breaks_a_rule():
    assert clean(12, max_length=20) == ("", ["Must be text."])
    assert clean("a\nb", max_length=20)[1] == [SINGLE_LINE_MESSAGE]
    assert clean("a\nb", max_length=20, multiline=True) == ("a\nb", None)
    assert clean("   ", max_length=20, required=True)[1] == ["This field is required."]
    assert clean("", max_length=20, required=True, required_message="Write something first.")[1] == [
        "Write something first."
    ]
    assert clean("ab", max_length=20, min_length=3)[1] == ["Use at least 3 characters."]
    assert clean("x" * 2001, max_length=2000)[1] == ["Use at most 2,000 characters."]
    assert clean("x" * 2000, max_length=2000) == ("x" * 2000, None)
