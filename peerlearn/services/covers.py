"""Generated session covers: an SVG drawn on the server from a session's category and title, shown
on cards and pages for sessions whose mentor has not uploaded a cover.

Each category has its own colours and pattern, so a page of cards reads by category at a glance;
the title picks the pattern's offset and gives the initials in the middle, so two sessions of one
category still look different. The same category and title always give the same bytes, which is
why the route may let browsers keep a cover for a year. No fonts or images are loaded: the
initials use the system's sans-serif font, and the title (escaped) is only the SVG's <title>.
"""

import hashlib
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 640, 360

# Category: (gradient start, gradient end, pattern name). Unknown categories look like "Other".
STYLES = {
    "Programming": ("#4338ca", "#0ea5e9", "grid"),
    "Data & AI": ("#0f766e", "#22c55e", "dots"),
    "Design": ("#be185d", "#f59e0b", "circles"),
    "Product & Business": ("#1e3a8a", "#6366f1", "stripes"),
    "Career": ("#7c2d12", "#f97316", "chevrons"),
    "Languages": ("#6d28d9", "#ec4899", "waves"),
    "Music & Arts": ("#9d174d", "#8b5cf6", "circles"),
    "Science & Maths": ("#155e75", "#14b8a6", "plus"),
    "Other": ("#374151", "#6b7280", "dots"),
}


def initials(title):
    """Up to two letters from the title's first words ("Pandas for data" -> "PF"), "#" when the
    title has no letters or digits."""
    letters = [next((ch for ch in word if ch.isalnum()), "") for word in title.split()]
    letters = [letter.upper() for letter in letters if letter]
    return "".join(letters[:2]) or "#"


def _pattern(name, colour, shift):
    """A <pattern> element named "p" of the kind ``name``, moved by ``shift`` pixels."""
    tile = 40
    shapes = {
        "grid": f'<path d="M{tile} 0H0V{tile}" fill="none" stroke="{colour}" stroke-width="1.5"/>',
        "dots": f'<circle cx="10" cy="10" r="3" fill="{colour}"/>',
        "circles": f'<circle cx="20" cy="20" r="14" fill="none" stroke="{colour}" stroke-width="2"/>',
        "stripes": f'<path d="M0 {tile}L{tile} 0" stroke="{colour}" stroke-width="6"/>',
        "chevrons": f'<path d="M0 28L20 12L40 28" fill="none" stroke="{colour}" stroke-width="3"/>',
        "waves": f'<path d="M0 20Q10 8 20 20T40 20" fill="none" stroke="{colour}" stroke-width="2.5"/>',
        "plus": f'<path d="M20 12V28M12 20H28" stroke="{colour}" stroke-width="3"/>',
    }
    return (
        f'<pattern id="p" width="{tile}" height="{tile}" patternUnits="userSpaceOnUse" '
        f'patternTransform="translate({shift} {shift // 2})">{shapes[name]}</pattern>'
    )


def cover_svg(category, title):
    """The cover of a session in ``category`` called ``title``, as SVG text."""
    start, end, pattern = STYLES.get(category, STYLES["Other"])
    digest = hashlib.sha256(title.encode()).digest()
    shift, angle = digest[0] % 40, digest[1] % 360
    letters = escape(initials(title))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>"
        "<defs>"
        f'<linearGradient id="g" gradientTransform="rotate({angle} .5 .5)">'
        f'<stop offset="0" stop-color="{start}"/><stop offset="1" stop-color="{end}"/></linearGradient>'
        f"{_pattern(pattern, '#ffffff', shift)}"
        "</defs>"
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="url(#g)"/>'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="url(#p)" opacity=".18"/>'
        f'<circle cx="{WIDTH // 2}" cy="{HEIGHT // 2}" r="92" fill="#ffffff" opacity=".16"/>'
        f'<text x="50%" y="50%" dy=".35em" text-anchor="middle" fill="#ffffff" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="96" '
        f'font-weight="700" letter-spacing="4">{letters}</text>'
        "</svg>"
    )
