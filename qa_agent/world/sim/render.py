"""Screenshots: draw the current screen (each element's box and text) with Pillow."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from qa_agent.world.sim.system import KEYBOARD_TOP, NAV_BAR_TOP, SYSTEMUI, TOAST_ID
from qa_agent.world.sim.world import SCREEN_H, SCREEN_W, ElementView

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=8)
def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def draw_screen(
    views: list[ElementView],
    *,
    title: str,
    status: str,
    keyboard: bool = False,
    size: tuple[int, int] = (SCREEN_W, SCREEN_H),
) -> Image.Image:
    """The screen drawn straight at ``size`` (screen coordinates scaled): drawing a full 1080x2400 frame to
    shrink it to mobile-mcp's 1024-pixel default cost several times the CPU of drawing it small."""
    f = size[0] / SCREEN_W

    def s(v: float) -> int:
        return round(v * f)

    def box(x0: float, y0: float, x1: float, y1: float) -> list[int]:
        return [s(x0), s(y0), max(s(x0), s(x1)), max(s(y0), s(y1))]

    def font(px: int) -> Font:
        return _font(max(6, s(px)))

    img = Image.new("RGB", size, (250, 250, 252))
    d = ImageDraw.Draw(img)
    d.rectangle(box(0, 0, SCREEN_W, 80), fill=(32, 33, 36))
    d.text((s(30), s(18)), status, fill=(255, 255, 255), font=font(36))
    d.text((s(SCREEN_W - 260), s(18)), title[:14], fill=(200, 200, 200), font=font(36))
    if keyboard:
        d.rectangle(box(0, KEYBOARD_TOP, SCREEN_W, NAV_BAR_TOP), fill=(210, 213, 219))
        for row, keys in enumerate(("qwertyuiop", "asdfghjkl", "zxcvbnm")):
            for i, key in enumerate(keys):
                at = (s(60 + row * 50 + i * 100), s(KEYBOARD_TOP + 80 + row * 200))
                d.text(at, key, fill=(20, 20, 20), font=font(56))
    for v in views:
        frame = box(v.x, v.y, v.x + v.width - 1, v.y + v.height - 1)
        kind = v.type.rsplit(".", 1)[-1]
        body = font(44)
        if v.identifier.startswith(SYSTEMUI):  # the status bar is drawn above; the navigation keys on a strip
            if v.button is not None:
                d.rectangle(frame, fill=(32, 33, 36))
                d.text((s(v.x + 30), s(v.y + 40)), v.label, fill=(255, 255, 255), font=font(36))
            continue
        if v.identifier == TOAST_ID:
            d.rounded_rectangle(frame, radius=s(40), fill=(60, 60, 64))
            d.text((s(v.x + 40), s(v.y + 36)), v.text, fill=(255, 255, 255), font=body)
            continue
        if kind == "Button":
            d.rounded_rectangle(frame, radius=s(28), fill=(26, 115, 232))
            text = v.text or v.label
            bbox = d.textbbox((0, 0), text, font=body)
            tx = s(v.x) + (s(v.width) - (bbox[2] - bbox[0])) / 2
            ty = s(v.y) + (s(v.height) - (bbox[3] - bbox[1])) / 2
            d.text((tx, ty), text, fill=(255, 255, 255), font=body)
            continue
        if kind == "EditText":
            d.rectangle(
                frame, outline=(26, 115, 232) if v.focused else (150, 150, 150), width=max(1, s(6 if v.focused else 3))
            )
            text, colour = (v.text, (20, 20, 20)) if v.text else (v.hint or v.label, (150, 150, 150))
        elif v.launches is not None:
            d.rounded_rectangle(box(v.x + 50, v.y, v.x + 170, v.y + 120), radius=s(30), fill=(66, 133, 244))
            d.text((s(v.x + 10), s(v.y + 150)), v.text, fill=(20, 20, 20), font=font(34))
            continue
        else:
            text, colour = v.text or v.label, (20, 20, 20)
        d.text((s(v.x + 20), s(v.y + max(0, (v.height - 48) // 2))), text, fill=colour, font=body)
    return img


def target_size(max_size: int | None, scale: float | None) -> tuple[int, int]:
    """The output size for ``maxSize``/``scale`` (never upscaled)."""
    w, h = SCREEN_W, SCREEN_H
    if max_size is not None:
        factor = min(1.0, max_size / max(w, h))
    elif scale is not None:
        factor = min(1.0, scale)
    else:
        factor = 1.0
    return max(1, round(w * factor)), max(1, round(h * factor))


def encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG")
    else:
        img.save(buf, format="JPEG", quality=75)
    return buf.getvalue()


def _num(v: float) -> str:
    s = f"{v:.4f}".rstrip("0").rstrip(".")
    return s or "0"


def mapping_text(size: tuple[int, int]) -> str:
    w, h = size
    if (w, h) == (SCREEN_W, SCREEN_H):
        return f"Screenshot is {w}x{h} and its coordinates match the screen."
    return (
        f"Screenshot is {w}x{h}. Screen coordinates are {SCREEN_W}x{SCREEN_H}. To tap something you see in "
        f"this screenshot, multiply its x by {_num(SCREEN_W / w)} and y by {_num(SCREEN_H / h)}."
    )
