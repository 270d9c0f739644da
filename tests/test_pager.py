"""One pager macro draws every paged list's Previous/Next links, and no template draws its own."""

from pathlib import Path

import peerlearn

TEMPLATES = Path(peerlearn.__file__).parent / "templates"


def render_pager(app, page, pages, **labels):
    template = app.jinja_env.from_string(
        '{% from "macros/pager.html" import pager %}'
        "{% macro at(n) %}/list?page={{ n }}&amp;q=x{% endmacro %}"
        "{{ pager(page, pages, at, **labels) }}"
    )
    return template.render(page=page, pages=pages, labels=labels)


def test_the_pager_links_the_neighbouring_pages(app):
    html = render_pager(app, 2, 3)
    assert '<a href="/list?page=1&amp;q=x" class="btn btn-secondary" rel="prev">Previous</a>' in html
    assert '<a href="/list?page=3&amp;q=x" class="btn btn-secondary" rel="next">Next</a>' in html
    assert "Page 2 of 3" in html


def test_the_ends_and_a_single_page(app):
    first, last = render_pager(app, 1, 2), render_pager(app, 2, 2)
    assert 'rel="prev"' not in first and 'rel="next"' in first
    assert 'rel="prev"' in last and 'rel="next"' not in last
    assert render_pager(app, 1, 1).strip() == ""


def test_no_template_draws_its_own_pager():
    own = [
        path.relative_to(TEMPLATES).as_posix()
        for path in TEMPLATES.rglob("*.html")
        if 'rel="next"' in path.read_text(encoding="utf-8")
    ]
    assert own == ["macros/pager.html"]
