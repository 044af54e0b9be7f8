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


def draw_screen(views: list[ElementView], *, title: str, status: str, keyboard: bool = False) -> Image.Image:
    img = Image.new("RGB", (SCREEN_W, SCREEN_H), (250, 250, 252))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, SCREEN_W, 80], fill=(32, 33, 36))
    d.text((30, 18), status, fill=(255, 255, 255), font=_font(36))
    d.text((SCREEN_W - 260, 18), title[:14], fill=(200, 200, 200), font=_font(36))
    if keyboard:
        d.rectangle([0, KEYBOARD_TOP, SCREEN_W, NAV_BAR_TOP], fill=(210, 213, 219))
        for row, keys in enumerate(("qwertyuiop", "asdfghjkl", "zxcvbnm")):
            for i, key in enumerate(keys):
                d.text((60 + row * 50 + i * 100, KEYBOARD_TOP + 80 + row * 200), key, fill=(20, 20, 20), font=_font(56))
    for v in views:
        box = [v.x, v.y, v.x + v.width - 1, v.y + v.height - 1]
        kind = v.type.rsplit(".", 1)[-1]
        font = _font(44)
        if v.identifier.startswith(SYSTEMUI):  # the status bar is drawn above; the navigation keys on a strip
            if v.button is not None:
                d.rectangle(box, fill=(32, 33, 36))
                d.text((v.x + 30, v.y + 40), v.label, fill=(255, 255, 255), font=_font(36))
            continue
        if v.identifier == TOAST_ID:
            d.rounded_rectangle(box, radius=40, fill=(60, 60, 64))
            d.text((v.x + 40, v.y + 36), v.text, fill=(255, 255, 255), font=font)
            continue
        if kind == "Button":
            d.rounded_rectangle(box, radius=28, fill=(26, 115, 232))
            colour: tuple[int, int, int] = (255, 255, 255)
            text = v.text or v.label
            bbox = d.textbbox((0, 0), text, font=font)
            tx = v.x + (v.width - (bbox[2] - bbox[0])) / 2
            ty = v.y + (v.height - (bbox[3] - bbox[1])) / 2
            d.text((tx, ty), text, fill=colour, font=font)
            continue
        if kind == "EditText":
            d.rectangle(box, outline=(26, 115, 232) if v.focused else (150, 150, 150), width=6 if v.focused else 3)
            text, colour = (v.text, (20, 20, 20)) if v.text else (v.hint or v.label, (150, 150, 150))
        elif v.launches is not None:
            d.rounded_rectangle([v.x + 50, v.y, v.x + 170, v.y + 120], radius=30, fill=(66, 133, 244))
            d.text((v.x + 10, v.y + 150), v.text, fill=(20, 20, 20), font=_font(34))
            continue
        else:
            text, colour = v.text or v.label, (20, 20, 20)
        d.text((v.x + 20, v.y + max(0, (v.height - 48) // 2)), text, fill=colour, font=font)
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


def encode(img: Image.Image, size: tuple[int, int], fmt: str) -> bytes:
    if img.size != size:
        img = img.resize(size, Image.Resampling.LANCZOS)
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
