"""`python -m dagc` and the `dagc` script → the CLI, with Ctrl-C handled even while modules load."""

try:
    import gc
    import signal
    import sys

    from .interrupts import ignore_interrupts, quiet_ignored_signal_reports

    _CAN_BLOCK = hasattr(signal, "pthread_sigmask")
except KeyboardInterrupt:       # a Ctrl-C in these first lines, before `run` guards against it: no traceback
    raise SystemExit(130) from None


def _interrupt_once(signum: int, frame: object) -> None:
    """The CLI's Ctrl-C: the first raises KeyboardInterrupt, every later one is ignored from that
    moment (the handler swaps itself out before raising). With Python's default handler a second
    Ctrl-C landing in the lines that handle the first (before they ignore SIGINT) printed a traceback."""
    ignore_interrupts()
    raise KeyboardInterrupt


def run() -> int:
    try:
        quiet_ignored_signal_reports()
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:   # not SIG_IGN inherited from `nohup`
            signal.signal(signal.SIGINT, _interrupt_once)
        # A Ctrl-C while the compiler's modules load is held until they have loaded: raised in the
        # middle of an import it can land in one of importlib's callbacks, where Python prints
        # "Exception ignored … Traceback" and carries on. Unblocked, it is raised here, in plain code.
        if _CAN_BLOCK:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            from .cli.main import main
        finally:
            if _CAN_BLOCK:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        code = main()
        # The process ends here: Python's teardown collects cyclic garbage over every object still alive, which
        # after a check with traffic (its step prices, kernel look-ups and kept runs) took a fifth of the check's
        # CPU (docs/load.md, "The interpreter's last collections"). Frozen, those objects are left to the exit.
        gc.freeze()
        return code
    except KeyboardInterrupt:
        ignore_interrupts()
        print("dagc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(run())
