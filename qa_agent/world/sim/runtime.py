"""App behaviour: what a device shows, and what touches, keys and app effects do to the world."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from qa_agent.world.sim import system
from qa_agent.world.sim.appmodel import AppModel, Effect, Element
from qa_agent.world.sim.expr import ExprError, evaluate, render, resolve_value
from qa_agent.world.sim.world import AppRun, Crash, Device, ElementView, World

LAUNCHER_COLUMNS = 4


class Runtime:
    """Operations on one world. Every method is synchronous, so each runs atomically on the event loop."""

    def __init__(self, world: World) -> None:
        self.world = world

    # ------------------------------------------------------------------ context and rendering
    def context(self, device: Device, package: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        run = device.running.get(package)
        ctx: dict[str, Any] = {
            "me": device.user,
            "device": device.id,
            "device_name": device.name,
            "state": run.state if run else {},
            "shared": self.world.shared.setdefault(package, {}),
            "held": device.held,
            "focused": run.focused if run else None,
            "screen": run.screen if run else None,
            "orientation": device.orientation,
            "sender": None,
        }
        if extra:
            ctx.update(extra)
        return ctx

    def _view(
        self,
        run: AppRun,
        el: Element,
        ctx: dict[str, Any],
        dx: int = 0,
        dy: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> ElementView | None:
        """One element as shown (None when hidden), its bounds moved by (dx, dy) (list rows)."""
        try:
            if el.visible is not None and not evaluate(el.visible, ctx):
                return None
            if el.field is not None:
                value = str(run.state.get(el.field) or "")
                text = "•" * len(value) if el.password else value
            else:
                text = render(el.text, ctx)
            label = render(el.label, ctx) if el.label else ""
            checked = el.checked is not None and bool(evaluate(el.checked, ctx))
            selected = el.selected is not None and bool(evaluate(el.selected, ctx))
            enabled = el.enabled is None or bool(evaluate(el.enabled, ctx))
        except ExprError as exc:
            text, label, checked, selected, enabled = f"<expression error: {exc}>", "", False, False, True
        x, y, w, h = el.bounds
        if w <= 0 or h <= 0:
            return None
        return ElementView(
            type=el.type,
            text=text,
            label=label,
            hint=el.hint or "",
            identifier=el.identifier or "",
            x=x + dx,
            y=y + dy,
            width=w,
            height=h,
            focused=el.field is not None and run.focused == el.field,
            model=el,
            checkable=el.checked is not None,
            checked=checked,
            selected=selected,
            enabled=enabled,
            scrollable=el.items is not None,
            extra=dict(extra or {}),
        )

    def _tree(
        self,
        run: AppRun,
        el: Element,
        ctx: dict[str, Any],
        dx: int = 0,
        dy: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> list[ElementView]:
        """An element and what it contains, parent before children (as mobilecli flattens a UI dump)."""
        view = self._view(run, el, ctx, dx, dy, extra)
        if view is None:
            return []
        out = [view]
        for child in el.children:
            out.extend(self._tree(run, child, ctx, dx, dy, extra))
        if el.items is not None and el.item is not None:
            out.extend(self._rows(run, el, view, ctx, extra))
        return out

    def _rows(
        self, run: AppRun, el: Element, box: ElementView, ctx: dict[str, Any], extra: dict[str, Any] | None
    ) -> list[ElementView]:
        """The rows of a scrollable list that fit in its bounds; the others are absent until scrolled to."""
        assert el.items is not None and el.item is not None
        try:
            entries = evaluate(el.items, ctx)
        except ExprError:
            entries = None
        entries = entries if isinstance(entries, list) else []
        first, per_page = self.list_window(run, el, len(entries))
        row_h = el.row_height or el.item.bounds[3]
        out: list[ElementView] = []
        for pos, index in enumerate(range(first, min(first + per_page, len(entries)))):
            row = {**(extra or {}), "item": entries[index], "index": index}
            out.extend(self._tree(run, el.item, {**ctx, **row}, box.x, box.y + pos * row_h, row))
        return out

    @staticmethod
    def list_window(run: AppRun, el: Element, count: int) -> tuple[int, int]:
        """(first row shown, rows per page) of a list with ``count`` entries."""
        assert el.item is not None
        per_page = max(1, el.bounds[3] // (el.row_height or el.item.bounds[3]))
        last_page = max(0, count - per_page)
        first = run.scroll.get(el.name or "list")
        if first is None:
            first = last_page if el.stick_to_end else 0
        return min(max(first, 0), last_page), per_page

    def launcher_elements(self, device: Device) -> list[ElementView]:
        views = []
        for i, model in enumerate(device.installed.values()):
            col, row = i % LAUNCHER_COLUMNS, i // LAUNCHER_COLUMNS
            views.append(
                ElementView(
                    type="android.widget.TextView",
                    text=model.name,
                    label=model.name,
                    hint="",
                    identifier="",
                    x=40 + col * 260,
                    y=400 + row * 320,
                    width=220,
                    height=260,
                    launches=model.package,
                )
            )
        return views

    def elements(self, device: Device) -> list[ElementView]:
        """What the device shows, in listing order (top-most last among the app's): the app's elements (only
        a shown dialog's, and none under the soft keyboard), then toasts, then the status and navigation bars.
        Elements mobilecli would drop (no text, label, hint, id, and not clickable or checkable) are left out."""
        views = self.app_elements(device)
        if self.keyboard_up(device, views):
            views = [v for v in views if v.center[1] < system.KEYBOARD_TOP]
        views += system.toasts(device)
        if self.world.config.knobs.system_bars:
            views += system.bars()
        return [v for v in views if v.text or v.label or v.hint or v.identifier or v.clickable or v.checkable]

    def app_elements(self, device: Device) -> list[ElementView]:
        run = self.front_run(device)
        if run is None or device.foreground is None:
            return self.launcher_elements(device)
        ctx = self.context(device, device.foreground)
        screen = run.model.screens[run.screen]
        trees = [self._tree(run, el, ctx) for el in screen.elements]
        modal = [t for t in trees if t and t[0].model is not None and t[0].model.modal]
        return modal[-1] if modal else [v for t in trees for v in t]

    def keyboard_up(self, device: Device, app_views: list[ElementView] | None = None) -> bool:
        """The soft keyboard shows: it was raised and its text field is on screen."""
        run = self.front_run(device)
        if run is None or not run.keyboard:
            return False
        return any(v.focused for v in (self.app_elements(device) if app_views is None else app_views))

    def front_run(self, device: Device) -> AppRun | None:
        if device.foreground is None:
            return None
        return device.running.get(device.foreground)

    def list_with_refs(self, device: Device) -> list[ElementView]:
        """The current screen's elements numbered ``@e1``... in listing order (as mobilecli numbers a UI dump)."""
        views = self.elements(device)
        for i, v in enumerate(views, start=1):
            v.ref = f"@e{i}"
        return views

    def foreground(self, device: Device) -> tuple[str, str]:
        if device.foreground is None or device.foreground not in device.running:
            from qa_agent.world.sim.world import LAUNCHER_NAME, LAUNCHER_PACKAGE

            return LAUNCHER_NAME, LAUNCHER_PACKAGE
        model = device.running[device.foreground].model
        return model.name, model.package

    # ------------------------------------------------------------------ app lifecycle
    def launch(self, device: Device, package: str) -> None:
        model = device.installed[package]
        if package not in device.running:
            device.running[package] = self._new_run(model)
            device.add_log("ActivityManager", f"Start proc {device.pid(package)}:{package}/u0a{100 + len(device.pids)}")
        device.foreground = package
        device.add_log("ActivityTaskManager", f"START u0 {{cmp={package}/.MainActivity}}")

    @staticmethod
    def _new_run(model: AppModel) -> AppRun:
        start = model.screens[model.start]
        return AppRun(model=model, state=copy.deepcopy(model.state), stack=[model.start], focused=start.focus)

    def terminate(self, device: Device, package: str) -> None:
        if device.running.pop(package, None) is not None:
            device.add_log("ActivityManager", f"Force stopping {package} appid=10{device.pid(package)}")
        if device.foreground == package:
            device.foreground = None
        if device.held is not None and device.foreground is None:
            device.held = None

    # ------------------------------------------------------------------ effects
    def run_effects(
        self, device: Device, package: str, effects: list[Effect], extra: dict[str, Any] | None = None
    ) -> None:
        for effect in effects:
            if effect.after_ms > 0:
                delayed = effect.model_copy(update={"after_ms": 0.0})
                frozen = dict(extra or {})
                self.world.schedule(effect.after_ms / 1000.0, self._later(device, package, delayed, frozen))
                continue
            if device.vanished:
                return
            run = device.running.get(package)
            if run is None:
                return  # the app was terminated meanwhile
            self._apply(device, package, run, effect, extra)

    def _later(self, device: Device, package: str, effect: Effect, extra: dict[str, Any]) -> Callable[[], None]:
        return lambda: self.run_effects(device, package, [effect], extra)

    def _apply(self, device: Device, package: str, run: AppRun, effect: Effect, extra: dict[str, Any] | None) -> None:
        ctx = self.context(device, package, extra)
        model = run.model
        try:
            if effect.if_ is not None:
                branch = effect.then if evaluate(effect.if_, ctx) else effect.else_
                self.run_effects(device, package, branch, extra)
            elif effect.go is not None:
                self.go(run, effect.go)
            elif effect.back:
                self.back(device, run)
            elif effect.home:
                device.foreground = None
            elif effect.set is not None:
                for k, v in effect.set.items():
                    run.state[k] = resolve_value(v, ctx)
            elif effect.set_shared is not None:
                shared = self.world.shared.setdefault(package, {})
                for k, v in effect.set_shared.items():
                    shared[k] = resolve_value(v, ctx)
            elif effect.focus is not None:
                run.focused, run.keyboard = effect.focus, True
            elif effect.hide_keyboard:
                run.keyboard = False
            elif effect.toast is not None:
                system.show_toast(device, render(effect.toast, ctx), effect.duration_ms)
            elif effect.log is not None:
                device.add_log(model.name, render(effect.log, ctx), level=effect.level, process=package)
            elif effect.crash is not None:
                self.crash(device, package, render(effect.crash, ctx))
            elif effect.broadcast is not None:
                b = effect.broadcast
                for target in self.world.online():
                    if target is device and b.to == "others":
                        continue
                    if package not in target.running:
                        continue
                    if b.where == "foreground" and target.foreground != package:
                        continue
                    self.run_effects(target, package, b.effects, {**(extra or {}), "sender": device.user})
        except ExprError as exc:
            device.add_log(model.name, f"model error: {exc}", level="Error", process=package)

    @staticmethod
    def go(run: AppRun, screen: str) -> None:
        if screen in run.stack:
            del run.stack[run.stack.index(screen) + 1 :]
        else:
            run.stack.append(screen)
        run.focused = run.model.screens[screen].focus
        run.keyboard = run.focused is not None

    @staticmethod
    def back(device: Device, run: AppRun) -> None:
        if len(run.stack) > 1:
            run.stack.pop()
            run.focused = run.model.screens[run.screen].focus
            run.keyboard = run.focused is not None
        else:
            device.foreground = None

    def crash(self, device: Device, package: str, message: str) -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(now))
        pid = device.pid(package)
        content = (
            f"--------- beginning of crash\n"
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now))} {pid} {pid} "
            f"E AndroidRuntime: FATAL EXCEPTION: main\nProcess: {package}, PID: {pid}\n"
            f"java.lang.RuntimeException: {message}\n"
        )
        device.crashes.append(Crash(id=f"{stamp}_{pid}", process=package, timestamp=stamp, content=content))
        device.add_log("AndroidRuntime", f"FATAL EXCEPTION: main Process: {package}", level="Error", process=package)
        self.terminate(device, package)

    # ------------------------------------------------------------------ input
    def hit(self, device: Device, x: float, y: float) -> ElementView | None:
        """The clickable element under the finger (top-most); a disabled one takes the touch and does nothing."""
        for view in reversed(self.elements(device)):
            if view.contains(x, y) and view.clickable:
                return view if view.enabled else None
        return None

    def tap(self, device: Device, x: float, y: float) -> None:
        view = self.hit(device, x, y)
        if view is None:
            return
        if view.launches is not None:
            self.launch(device, view.launches)
            return
        if view.button is not None:
            self.press_button(device, view.button)
            return
        package = device.foreground
        assert package is not None and view.model is not None
        el = view.model
        if el.field is not None:
            run = device.running[package]
            run.focused, run.keyboard = el.field, True
        if el.on.tap:
            self.run_effects(device, package, el.on.tap, view.extra)
        elif el.on.hold_start or el.on.hold_end:  # a tap is a very short press
            self.run_effects(device, package, el.on.hold_start, view.extra)
            self.run_effects(device, package, el.on.hold_end, view.extra)

    def double_tap(self, device: Device, x: float, y: float) -> None:
        view = self.hit(device, x, y)
        if view is not None and view.model is not None and view.model.on.double_tap and device.foreground:
            self.run_effects(device, device.foreground, view.model.on.double_tap, view.extra)
            return
        self.tap(device, x, y)
        self.tap(device, x, y)

    def press_start(self, device: Device, x: float, y: float) -> tuple[str, ElementView] | None:
        """Finger down for a long press; returns what :meth:`press_end` needs."""
        view = self.hit(device, x, y)
        if view is None or view.model is None or device.foreground is None:
            return None
        package, el = device.foreground, view.model
        device.held = el.name or "element"
        self.run_effects(device, package, el.on.hold_start, view.extra)
        return package, view

    def press_end(self, device: Device, pressed: tuple[str, ElementView] | None) -> None:
        device.held = None
        if pressed is None:
            return
        package, view = pressed
        assert view.model is not None
        self.run_effects(device, package, view.model.on.hold_end, view.extra)
        self.run_effects(device, package, view.model.on.long_press, view.extra)

    def type_text(self, device: Device, text: str) -> None:
        run = self._focused_run(device)
        if run is None or run.focused is None:
            return
        run.state[run.focused] = str(run.state.get(run.focused) or "") + text

    def _focused_run(self, device: Device) -> AppRun | None:
        if device.foreground is None:
            return None
        run = device.running.get(device.foreground)
        if run is None or run.focused is None:
            return None
        fields = {e.field for top in run.model.screens[run.screen].elements for e in top.walk() if e.field}
        return run if run.focused in fields else None

    def screen_handler(self, device: Device, name: str) -> bool:
        """Run a screen-level handler (``enter``, ``swipe_up``...); False when the screen has none."""
        if device.foreground is None or device.foreground not in device.running:
            return False
        run = device.running[device.foreground]
        effects: list[Effect] | None = getattr(run.model.screens[run.screen].on, name)
        if not effects:
            return False
        self.run_effects(device, device.foreground, effects)
        return True

    def swipe(self, device: Device, direction: str, point: tuple[float, float] | None) -> None:
        """Scroll the list under ``point`` (or the first list on screen) a page, then the screen's handler.
        Swiping up moves the content up: later rows come into view."""
        run = self.front_run(device)
        if run is not None and direction in ("up", "down"):
            lists = [v for v in self.app_elements(device) if v.scrollable and v.model is not None]
            under = [v for v in lists if point is None or v.contains(*point)]
            if under:
                self.scroll(device, run, under[-1], 1 if direction == "up" else -1)
        self.screen_handler(device, f"swipe_{direction}")

    def scroll(self, device: Device, run: AppRun, view: ElementView, pages: int) -> None:
        el = view.model
        assert el is not None and el.items is not None and device.foreground is not None
        try:
            entries = evaluate(el.items, {**self.context(device, device.foreground), **view.extra})
        except ExprError:
            entries = []
        count = len(entries) if isinstance(entries, list) else 0
        first, per_page = self.list_window(run, el, count)
        first = min(max(first + pages * max(1, per_page - 1), 0), max(0, count - per_page))
        key = el.name or "list"
        if el.stick_to_end and first >= count - per_page:
            run.scroll.pop(key, None)  # back at the newest rows: follow new ones again
        else:
            run.scroll[key] = first

    def press_button(self, device: Device, button: str) -> None:
        if button == "HOME":
            device.foreground = None
        elif button == "BACK":
            if device.foreground is None or device.foreground not in device.running:
                return
            run = device.running[device.foreground]
            shown = self.app_elements(device)
            if shown and shown[0].model is not None and shown[0].model.modal:
                self.run_effects(device, device.foreground, shown[0].model.on.back or [])
                return  # a dialog without a back handler cannot be cancelled
            if run.keyboard and run.focused is not None:
                run.keyboard = False  # the first BACK only hides the soft keyboard
                return
            handler = run.model.screens[run.screen].on.back
            if handler is not None:
                self.run_effects(device, device.foreground, handler)
            else:
                self.back(device, run)
        elif button == "ENTER":
            self.screen_handler(device, "enter")
        elif button == "BACKSPACE":
            target = self._focused_run(device)
            if target is not None and target.focused is not None:
                target.state[target.focused] = str(target.state.get(target.focused) or "")[:-1]
