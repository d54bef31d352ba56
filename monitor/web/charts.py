"""Inline SVG charts rendered on the server: no JavaScript, no CDN, nothing for the CSP to allow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from markupsafe import Markup, escape

# Colours as presentation attributes: the CSP forbids inline style attributes, not fill="...".
PALETTE = ("#2f6fb0", "#d9822b", "#3c9d5d", "#b04a6f", "#7d5ba6", "#8a8a2e", "#2b9bb0", "#a05a2c")


def _attr(value: object) -> str:
    return str(escape(str(value)))


def bar_chart(
    days: Sequence[date], series: Mapping[str, Mapping[date, int]], *, title: str, width: int = 720,
    height: int = 220,
) -> Markup:
    """Stacked bars, one per day, one colour per series, with a legend and an accessible title."""
    left, right, top, bottom = 36, 10, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    names = sorted(series)
    totals = [sum(series[n].get(d, 0) for n in names) for d in days]
    peak = max(totals, default=0) or 1
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height + 18 * ((len(names) + 3) // 4)}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{_attr(title)}"><title>{_attr(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" font-size="10" fill="#555">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10" fill="#555">0</text>',
    ]
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        y: float = top + plot_h
        for k, name in enumerate(names):
            count = series[name].get(day, 0)
            if not count:
                continue
            h = plot_h * count / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{_attr(name)} {day.isoformat()}: {count}</title></rect>'
            )
        if len(days) <= 16 or i % max(len(days) // 8, 1) == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" font-size="10" '
                f'fill="#555">{day.strftime("%m-%d")}</text>'
            )
    for k, name in enumerate(names):
        lx, ly = left + (k % 4) * (plot_w / 4), height - 8 + 18 * (k // 4)
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>')
        parts.append(f'<text x="{lx + 14:.1f}" y="{ly}" font-size="11" fill="#333">{_attr(name)}</text>')
    if not names:
        parts.append(f'<text x="{width / 2}" y="{top + plot_h / 2}" text-anchor="middle" font-size="12" '
                     f'fill="#777">no data in this period</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: Sequence[int], *, label: str, width: int = 120, height: int = 24) -> Markup:
    """A tiny bar sparkline (one bar a day) with the numbers in its tooltip."""
    peak = max(values, default=0) or 1
    slot = width / max(len(values), 1)
    parts = [
        f'<svg class="spark" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{_attr(label)}"><title>{_attr(label)}</title>'
    ]
    for i, value in enumerate(values):
        h: float = max((height - 2) * value / peak, 1 if value else 0.5)
        parts.append(
            f'<rect x="{i * slot + 1:.1f}" y="{height - h:.1f}" width="{max(slot - 2, 1):.1f}" height="{h:.1f}" '
            f'fill="{PALETTE[0] if value else "#ccc"}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


SPIKE_COLOUR = "#c0392b"


def volume_chart(
    labels: Sequence[str], stories: Sequence[int], articles: Sequence[int], spikes: Sequence[bool], *,
    title: str, width: int = 720, height: int = 220, label_every: int = 1,
) -> Markup:
    """Bars of distinct stories, a line of raw articles, spike bars in red with a marker: an entry's series."""
    left, right, top, bottom = 36, 10, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([*stories, *articles], default=0) or 1
    slot = plot_w / max(len(labels), 1)
    bar_w = max(slot * 0.7, 1)
    base = top + plot_h
    parts = [
        f'<svg class="chart volume" role="img" viewBox="0 0 {width} {height + 18}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{_attr(title)}"><title>{_attr(title)}</title>',
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" font-size="10" fill="#555">{peak}</text>',
        f'<text x="{left - 4}" y="{base}" text-anchor="end" font-size="10" fill="#555">0</text>',
    ]
    points = []
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar_w) / 2
        count, raw, spike = stories[i], articles[i], spikes[i]
        tip = f"{label}: {count} stories, {raw} articles" + (" (spike)" if spike else "")
        if count:
            h = plot_h * count / peak
            colour = SPIKE_COLOUR if spike else PALETTE[0]
            parts.append(f'<rect class="{"spike" if spike else "bar"}" x="{x:.1f}" y="{base - h:.1f}" '
                         f'width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}"><title>{_attr(tip)}</title></rect>')
        if spike:
            cx, cy = x + bar_w / 2, base - plot_h * count / peak - 4
            parts.append(f'<path class="spike-mark" d="M{cx - 4:.1f} {cy - 7:.1f} L{cx + 4:.1f} {cy - 7:.1f} '
                         f'L{cx:.1f} {cy:.1f} Z" fill="{SPIKE_COLOUR}"><title>{_attr(tip)}</title></path>')
        points.append(f"{x + bar_w / 2:.1f},{base - plot_h * raw / peak:.1f}")
        if i % max(label_every, 1) == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{base + 14}" text-anchor="middle" font-size="10" '
                         f'fill="#555">{_attr(label)}</text>')
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{PALETTE[1]}" stroke-width="1.5"/>')
    legend = (("stories (distinct)", PALETTE[0]), ("articles (raw)", PALETTE[1]), ("spike", SPIKE_COLOUR))
    for k, (name, colour) in enumerate(legend):
        lx, ly = left + k * (plot_w / 4), height + 10
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14:.1f}" y="{ly}" font-size="11" fill="#333">{_attr(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
