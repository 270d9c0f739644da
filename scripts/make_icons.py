"""Draw the app's icons (peerlearn/static/icons/*.png) from the logo in static/favicon.svg.

    .venv/bin/python scripts/make_icons.py

The PNGs are committed; run this again only when the logo changes. The mark (two heads and the
line of their shoulders, white on the brand colour) is drawn with Pillow at four times the size
and scaled down, so its edges are smooth. Three kinds of icon come out:

- ``icon-192.png``, ``icon-512.png``: the favicon's rounded square, for home screens that show an
  icon as it is ("any" in the web app manifest);
- ``maskable-192.png``, ``maskable-512.png``: the brand colour to every edge with the mark inside
  the middle 80 %, for launchers that cut their own shape out of it ("maskable");
- ``apple-touch-icon.png`` (180 px): a full square, which iOS rounds itself.
"""

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent.parent / "peerlearn" / "static" / "icons"
BRAND = (0x5B, 0x3F, 0xD8, 255)
WHITE = (255, 255, 255, 255)
SUPERSAMPLE = 4

# The favicon's drawing, on its 32-unit grid: two circles and one path of three cubic curves.
HEADS = ((11.5, 11.0), (20.5, 11.0))
HEAD_RADIUS = 3.2
STROKE = 2.6
SHOULDERS_START = (6.0, 24.0)
# Relative control points and end point of each curve ("c" in the SVG path).
SHOULDERS = (
    ((1.6, -3.5), (3.6, -5.4), (5.6, -5.4)),
    ((2.0, 0.0), (3.2, 1.3), (4.4, 3.1)),
    ((1.2, -1.8), (2.4, -3.1), (4.4, -3.1)),
    ((2.0, 0.0), (4.0, 1.9), (5.6, 5.4)),
)


def shoulder_points(steps=400):
    """The shoulders' path as points on the 32-unit grid."""
    points = [SHOULDERS_START]
    x0, y0 = SHOULDERS_START
    for (c1x, c1y), (c2x, c2y), (ex, ey) in SHOULDERS:
        p1, p2, p3 = (x0 + c1x, y0 + c1y), (x0 + c2x, y0 + c2y), (x0 + ex, y0 + ey)
        for step in range(1, steps + 1):
            t = step / steps
            u = 1 - t
            x = u**3 * x0 + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0]
            y = u**3 * y0 + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1]
            points.append((x, y))
        x0, y0 = p3
    return points


def draw_mark(draw, left, top, size):
    """The white mark inside the square (left, top, size) in pixels, the favicon's grid scaled."""
    unit = size / 32

    def at(x, y):
        return left + x * unit, top + y * unit

    width = STROKE * unit
    for cx, cy in HEADS:
        x, y = at(cx, cy)
        outer = HEAD_RADIUS * unit + width / 2
        draw.ellipse((x - outer, y - outer, x + outer, y + outer), fill=WHITE)
        inner = HEAD_RADIUS * unit - width / 2
        draw.ellipse((x - inner, y - inner, x + inner, y + inner), fill=BRAND)
    # A round pen pressed down along the path: round caps and joins, as the SVG's stroke has.
    radius = width / 2
    for x, y in (at(x, y) for x, y in shoulder_points()):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=WHITE)


def icon(size, *, maskable=False, rounded=True):
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable or not rounded:
        draw.rectangle((0, 0, big, big), fill=BRAND)
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 8 / 32, fill=BRAND)
    if maskable:
        # The mark's own grid has a margin; inside the safe circle (80 % of the width) it fits whole.
        inset = big * 0.16
        draw_mark(draw, inset, inset, big - 2 * inset)
    else:
        draw_mark(draw, 0, 0, big)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main():
    ICONS.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size).save(ICONS / f"icon-{size}.png", optimize=True)
        icon(size, maskable=True).save(ICONS / f"maskable-{size}.png", optimize=True)
    icon(180, rounded=False).convert("RGB").save(ICONS / "apple-touch-icon.png", optimize=True)
    print(f"icons written to {ICONS}")


if __name__ == "__main__":
    main()
