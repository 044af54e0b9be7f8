"""What Android draws around an app: the status and navigation bars, toasts, and where the soft keyboard
starts (elements under it are not shown while it is up)."""

from __future__ import annotations

import time

from qa_agent.world.sim.world import SCREEN_H, SCREEN_W, Device, ElementView

STATUS_BAR_H = 96
NAV_BAR_H = 126
NAV_BAR_TOP = SCREEN_H - NAV_BAR_H
KEYBOARD_TOP = 1400  # the soft keyboard covers 1400..NAV_BAR_TOP (a centre below 1400 is hidden)
SYSTEMUI = "com.android.systemui"
TOAST_ID = "android:id/message"


def _view(type_: str, *, text: str = "", label: str = "", ident: str, box: tuple[int, int, int, int]) -> ElementView:
    x, y, w, h = box
    return ElementView(type=type_, text=text, label=label, hint="", identifier=ident, x=x, y=y, width=w, height=h)


def bars() -> list[ElementView]:
    """The status bar (clock, battery) and the three-button navigation bar (Back, Home, Overview)."""
    clock = _view(
        "android.widget.TextView", text=time.strftime("%H:%M"), ident=f"{SYSTEMUI}:id/clock", box=(40, 20, 140, 56)
    )
    battery = _view(
        "android.widget.LinearLayout",
        label="Battery 100 percent.",
        ident=f"{SYSTEMUI}:id/battery",
        box=(940, 20, 100, 56),
    )
    keys = []
    for i, (name, ident, button) in enumerate(
        (("Back", "back", "BACK"), ("Home", "home_button", "HOME"), ("Overview", "recent_apps", "APP_SWITCH"))
    ):
        key = _view("android.widget.ImageView", label=name, ident=f"{SYSTEMUI}:id/{ident}", box=(0, NAV_BAR_TOP, 0, 0))
        key.x, key.width, key.height = 180 + i * 270, 180, NAV_BAR_H
        key.button = button
        keys.append(key)
    return [clock, battery, *keys]


def toasts(device: Device) -> list[ElementView]:
    """The toasts still on screen (each for its duration), oldest first, above the navigation bar."""
    now = time.monotonic()
    device.toasts[:] = [(text, until) for text, until in device.toasts if until > now]
    return [
        _view(
            "android.widget.TextView",
            text=text,
            ident=TOAST_ID,
            box=(140, 1900 - 140 * i, SCREEN_W - 280, 120),
        )
        for i, (text, _until) in enumerate(reversed(device.toasts))
    ][::-1]


def show_toast(device: Device, text: str, duration_ms: float) -> None:
    device.toasts.append((text, time.monotonic() + duration_ms / 1000))
