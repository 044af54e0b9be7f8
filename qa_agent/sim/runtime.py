"""App behaviour: what a device shows, and what touches, keys and app effects do to the world."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from qa_agent.sim.appmodel import AppModel, Effect, Element
from qa_agent.sim.expr import ExprError, evaluate, render, resolve_value
from qa_agent.sim.world import AppRun, Crash, Device, ElementView, World

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

    def _view(self, device: Device, run: AppRun, el: Element, ctx: dict[str, Any]) -> ElementView | None:
        try:
            if el.visible is not None and not evaluate(el.visible, ctx):
                return None
            if el.field is not None:
                value = str(run.state.get(el.field) or "")
                text = "•" * len(value) if el.password else value
            else:
                text = render(el.text, ctx)
            label = render(el.label, ctx) if el.label else ""
        except ExprError as exc:
            text, label = f"<expression error: {exc}>", ""
        x, y, w, h = el.bounds
        if w <= 0 or h <= 0:
            return None
        return ElementView(
            type=el.type,
            text=text,
            label=label,
            hint=el.hint or "",
            identifier=el.identifier or "",
            x=x,
            y=y,
            width=w,
            height=h,
            focused=el.field is not None and run.focused == el.field,
            model=el,
        )

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
        """The elements currently on screen, top-most last."""
        if device.foreground is None or device.foreground not in device.running:
            return self.launcher_elements(device)
        run = device.running[device.foreground]
        ctx = self.context(device, device.foreground)
        screen = run.model.screens[run.screen]
        views = [self._view(device, run, el, ctx) for el in screen.elements]
        return [v for v in views if v is not None]

    def list_with_refs(self, device: Device) -> list[ElementView]:
        """The current screen's elements numbered ``@e1``... in listing order (as mobilecli numbers a UI dump)."""
        views = self.elements(device)
        for i, v in enumerate(views, start=1):
            v.ref = f"@e{i}"
        return views

    def foreground(self, device: Device) -> tuple[str, str]:
        if device.foreground is None or device.foreground not in device.running:
            from qa_agent.sim.world import LAUNCHER_NAME, LAUNCHER_PACKAGE

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
                run.focused = effect.focus
            elif effect.log is not None:
                device.add_log(model.name, render(effect.log, ctx), process=package)
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

    @staticmethod
    def back(device: Device, run: AppRun) -> None:
        if len(run.stack) > 1:
            run.stack.pop()
            run.focused = run.model.screens[run.screen].focus
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
        for view in reversed(self.elements(device)):
            if view.contains(x, y) and (view.launches or (view.model is not None and view.model.interactive)):
                return view
        return None

    def tap(self, device: Device, x: float, y: float) -> None:
        view = self.hit(device, x, y)
        if view is None:
            return
        if view.launches is not None:
            self.launch(device, view.launches)
            return
        package = device.foreground
        assert package is not None and view.model is not None
        el = view.model
        if el.field is not None:
            device.running[package].focused = el.field
        if el.on.tap:
            self.run_effects(device, package, el.on.tap)
        elif el.on.hold_start or el.on.hold_end:  # a tap is a very short press
            self.run_effects(device, package, el.on.hold_start)
            self.run_effects(device, package, el.on.hold_end)

    def double_tap(self, device: Device, x: float, y: float) -> None:
        view = self.hit(device, x, y)
        if view is not None and view.model is not None and view.model.on.double_tap and device.foreground:
            self.run_effects(device, device.foreground, view.model.on.double_tap)
            return
        self.tap(device, x, y)
        self.tap(device, x, y)

    def press_start(self, device: Device, x: float, y: float) -> tuple[str, Element] | None:
        """Finger down for a long press; returns what :meth:`press_end` needs."""
        view = self.hit(device, x, y)
        if view is None or view.model is None or device.foreground is None:
            return None
        package, el = device.foreground, view.model
        device.held = el.name or "element"
        self.run_effects(device, package, el.on.hold_start)
        return package, el

    def press_end(self, device: Device, pressed: tuple[str, Element] | None) -> None:
        device.held = None
        if pressed is None:
            return
        package, el = pressed
        self.run_effects(device, package, el.on.hold_end)
        self.run_effects(device, package, el.on.long_press)

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
        fields = {e.field for e in run.model.screens[run.screen].elements if e.field}
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

    def press_button(self, device: Device, button: str) -> None:
        if button == "HOME":
            device.foreground = None
        elif button == "BACK":
            if device.foreground is None or device.foreground not in device.running:
                return
            run = device.running[device.foreground]
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
