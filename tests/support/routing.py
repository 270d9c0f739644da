"""URL builders made once per run instead of once per app.

The suite builds a new app for every test, and most of that time is Werkzeug compiling two
URL-building functions for each of the app's two hundred rules (about 50 ms an app, a couple of
minutes a run). The function Werkzeug makes depends only on the rule's text and parse, its
defaults and its converters' types: it reads the converters through the rule it is bound to. So
each one is compiled the first time and handed, bound to the new rule, to every later app with
the same rule. The rules still parse, bind and match as in production; building a URL runs the
same code.
"""

from werkzeug.routing.rules import Rule

_compiled = {}
_ORIGINAL = getattr(Rule, "_compile_builder", None)


def _key(rule, append_unknown):
    return (
        rule.map.host_matching,
        rule.rule,
        rule.subdomain,
        rule.host,
        rule.merge_slashes,
        tuple(rule._trace),
        repr(sorted((rule.defaults or {}).items())),
        tuple((name, type(converter)) for name, converter in rule._converters.items()),
        append_unknown,
    )


def remember_url_builders():
    """Wrap Rule._compile_builder with a cache keyed on everything the built function depends on
    (once; a Werkzeug without that method is left alone)."""
    original = _ORIGINAL
    if original is None or getattr(Rule._compile_builder, "remembered", False):
        return

    def compile_builder(self, append_unknown=True):
        key = _key(self, append_unknown)
        builder = _compiled.get(key)
        if builder is None:
            builder = _compiled[key] = original(self, append_unknown)
        return builder

    compile_builder.remembered = True
    Rule._compile_builder = compile_builder


def compile_afresh(rule, append_unknown):
    """The builder Werkzeug itself makes for ``rule`` (to check the remembered one against)."""
    return _ORIGINAL(rule, append_unknown)
