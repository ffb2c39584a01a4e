"""What a launch's `$NODE<k>_ADDR` names, said in a note under its commands (`dagc.launch.launch`)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["address_note"]


def address_note(commands: Sequence[str], host_gpus: int | None) -> list[str]:
    """What `$NODE<k>_ADDR` names in `commands`: the k-th machine, a node — or, where a node's NVLink domain spans
    several hosts of `host_gpus` GPUs (a GB200 rack's trays of 4), a host: it holds dagc's ranks k·G … (until
    2026-12-03 always "k·gpus_per_node", rank 72 for a rack's second tray). None without such an address.

    Example:
        >>> note = address_note(["mpirun -H $NODE0_ADDR:4,$NODE1_ADDR:4 …"], 4)[0]
        >>> note.endswith("(host k holds dagc's ranks 4·k …)")
        True
    """
    if not any("$NODE" in c for c in commands):
        return []
    if host_gpus is not None:
        return [f"`$NODE<k>_ADDR`: the address of host k, {host_gpus} GPUs of the node's NVLink domain (host k "
                f"holds dagc's ranks {host_gpus}·k …)"]
    return ["`$NODE<k>_ADDR`: the address of node k (node k holds dagc's ranks k·gpus_per_node …)"]
