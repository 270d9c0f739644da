"""Each test's app loads templates compiled by an earlier app of the run (tests/support/
template_code.py): the code it loads must be what its own environment compiles from the source."""

from peerlearn import create_app
from tests.support.template_code import TEMPLATE_CODE, share_template_code


def test_a_later_app_loads_exactly_what_its_environment_compiles(app, client):
    assert client.get("/auth/login").status_code == 200
    later = create_app("testing")
    share_template_code(later)
    template = later.jinja_env.get_template("auth/login.html")
    assert template.environment is later.jinja_env
    source, filename, _ = later.jinja_env.loader.get_source(later.jinja_env, "auth/login.html")
    bucket = TEMPLATE_CODE.get_bucket(later.jinja_env, "auth/login.html", filename, source)
    assert bucket.code is not None, "the first app's compiled code was not kept"
    assert bucket.code == later.jinja_env.compile(source, "auth/login.html", filename)


def test_another_environment_or_an_edited_source_compiles_afresh(app):
    env = app.jinja_env
    TEMPLATE_CODE.set_bucket(_filled(env, "same.html", "{{ 1 }}"))
    assert TEMPLATE_CODE.get_bucket(env, "same.html", None, "{{ 1 }}").code is not None
    assert TEMPLATE_CODE.get_bucket(env, "same.html", None, "{{ 2 }}").code is None
    other = create_app("testing")
    other.jinja_env.filters["only_here"] = str
    assert TEMPLATE_CODE.get_bucket(other.jinja_env, "same.html", None, "{{ 1 }}").code is None


def _filled(env, name, source):
    bucket = TEMPLATE_CODE.get_bucket(env, name, None, source)
    bucket.code = env.compile(source, name)
    return bucket
