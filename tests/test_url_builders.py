"""The suite compiles each URL rule's builder once per run (tests/support/routing.py): what every
app of the run builds URLs with must be exactly what Werkzeug would compile for it."""

from flask import url_for

from peerlearn import create_app
from tests.support.routing import compile_afresh


def same_function(one, other):
    return (
        one.__code__.co_code == other.__code__.co_code
        and one.__code__.co_consts == other.__code__.co_consts
        and one.__code__.co_names == other.__code__.co_names
        and one.__code__.co_varnames == other.__code__.co_varnames
        and one.__defaults__ == other.__defaults__
    )


def test_every_rule_of_a_later_app_builds_with_what_werkzeug_compiles_for_it(app):
    later = create_app("testing")
    rules = list(later.url_map.iter_rules())
    assert len(rules) > 100
    for rule in rules:
        for append_unknown, bound in ((False, rule._build), (True, rule._build_unknown)):
            assert bound.__self__ is rule
            assert same_function(bound.__func__, compile_afresh(rule, append_unknown)), rule.rule


def test_urls_with_arguments_and_query_strings_come_out_whole(app):
    with app.test_request_context():
        assert url_for("static", filename="dist/app.css") == "/static/dist/app.css"
        assert url_for("static", filename="a b.css", v="1&2") == "/static/a%20b.css?v=1%262"
