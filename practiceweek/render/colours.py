"""Colour arithmetic for WCAG 2.2 AA contrast: brand colours are adjusted until text on them is readable."""

from __future__ import annotations

AA = 4.5


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _hex(rgb: tuple[float, ...]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(v))):02X}" for v in rgb)


def luminance(colour: str) -> float:
    def lin(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(v) for v in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """Black or white, whichever reads better on ``background``."""
    return "#000000" if contrast(background, "#000000") >= contrast(background, "#FFFFFF") else "#FFFFFF"


def ink(colour: str, background: str = "#FFFFFF") -> str:
    """``colour`` darkened (or lightened on dark backgrounds) until it has AA contrast on ``background``."""
    towards = (0, 0, 0) if luminance(background) > 0.18 else (255, 255, 255)
    rgb = _rgb(colour)
    for step in range(0, 21):
        t = step / 20
        mixed = _hex(tuple(c + (d - c) * t for c, d in zip(rgb, towards, strict=True)))
        if contrast(mixed, background) >= AA:
            return mixed
    return _hex(towards)
