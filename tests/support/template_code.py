"""Compiled templates shared by the run's apps.

Every test builds a new app, so a new Jinja environment, which would parse and compile each
template it renders again: a good part of a page test's time. This bytecode cache keeps each
template's compiled code in memory for the run, keyed on the template, the checksum of its source
(an edited template compiles afresh) and what of the environment the compiler reads (its filters,
tests, extensions and autoescaping), so a later app loads the very code an earlier one compiled
and renders with its own environment, as the first would.
"""

from jinja2.bccache import BytecodeCache


def _environment_key(environment):
    autoescape = environment.autoescape
    return (
        type(environment),
        getattr(autoescape, "__func__", autoescape),
        tuple(sorted(environment.filters)),
        tuple(sorted(environment.tests)),
        tuple(sorted(environment.extensions)),
        environment.optimized,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
    )


class SharedTemplateCode(BytecodeCache):
    def __init__(self):
        self._code = {}

    def _key(self, bucket):
        return (bucket.key, bucket.checksum, _environment_key(bucket.environment))

    def load_bytecode(self, bucket):
        code = self._code.get(self._key(bucket))
        if code is not None:
            bucket.code = code

    def dump_bytecode(self, bucket):
        self._code[self._key(bucket)] = bucket.code


TEMPLATE_CODE = SharedTemplateCode()


def share_template_code(app):
    """Let ``app`` load templates an earlier app of the run compiled (and keep what it compiles)."""
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
