"""`python -m dagc` and the `dagc` script → the CLI, with Ctrl-C handled even while modules load."""

import signal
import sys


def run() -> int:
    try:
        from .cli import main
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("dagc: interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
