"""Convert an SGLang expert-distribution dump into dagc's expert-load file.

Usage: python bench/convert_sglang_expert_load.py DUMP [DUMP ...] -o OUT [--force] [--first-moe-layer N] [--layers A:B]
Output: `{"layers": [[tokens routed to expert 0, expert 1, ...], ...]}`, one list per MoE layer in the
model's order, counts as non-negative integers, for a plan's `workload { routing from "expert_load.json" }`.
Written against dagc d3a9244, whose parser still refused that statement (E104) while a reader was being
added; dagc expects one list per MoE layer of the model, one count per routed (logical) expert.

Input format, from SGLang's source: `python/sglang/srt/eplb/expert_distribution.py` of
github.com/sgl-project/sglang at commit 02295fe5ac5ccff3e8829800d50450351c56fb53 (a commit; its release
number was not established), the dump code the same at dd780ab9de48. With the server started with
`--expert-distribution-recorder-mode MODE`, POST /start_expert_distribution_record, the requests, then
/stop_ and /dump_expert_distribution_record make `_dump_to_file` torch.save a dict into
$SGLANG_EXPERT_DISTRIBUTION_RECORDER_DIR (default /tmp):
- `stat`, `stat_approx` (`_StatAccumulator.dump`): rank 0 writes `expert_distribution_recorder_{time.time()}.pt`,
  `{"rank": 0, "logical_count": int32 (passes, layers, logical experts), "average_utilization_rate_over_window":
  float | None}`, summed over the ranks (all_reduce). `passes` is a circular buffer of the last
  `--expert-distribution-recorder-buffer-size` forward passes (default `--eplb-rebalance-num-iterations`,
  1000; -1 keeps all), unused slots zero.
- `per_pass`, `per_token` (`_DetailAccumulator.dump`): each rank writes
  `expert_distribution_recorder_{time.time()}_{rank}.pt`, `{"records": [{"forward_pass_id", "rank",
  "gatherer_key", "global_physical_count": (layers, physical experts), ...per_token's token data}],
  "last_physical_to_logical_map": (layers, physical experts)}`. Each physical slot (a redundant expert
  is a second one) is added to its logical expert through the map, which SGLang calls "last" because
  it may change while recording. Records and files are summed, as SGLang's `eplb_simulator/reader.py` does.
No JSON or CSV output there ("object", the other output mode, hands the dict to the EPLB manager).
An earlier SGLang (`srt/managers/expert_distribution.py`) wrote per-rank CSV files instead,
`expert_distribution_rank{r}_timestamp{t}.csv` (`layer_id,expert_id,count`): not read here.

A dump holds every layer of the model, and a dense layer's counts are all zero: such layers are
dropped and named on stderr (or every layer before `--first-moe-layer N`, which must be empty);
`--layers A:B` first keeps the dump's layers A to B-1. Counts are token-expert pairs (a token counts at
each of its top-k experts). SGLang sums the ranks' counts: ranks that route the same tokens
(tensor-parallel attention without DP attention) each count them, which scales a layer's counts alike.

A `.pt`/`.pth` input is read by `torch.load(map_location="cpu", weights_only=True)`, importing PyTorch
only then: run the script where SGLang is installed. Any other input is JSON of the same dict with
lists for tensors (`v.tolist()`). Inputs over 256 MiB are refused. OUT is written to a temporary file
in its directory, then os.replace; an existing OUT only with --force; a symlink at OUT never.
Exit codes: 0 written; 2 usage error, or an input refused, unreadable, not SGLang's format or a .pt
without PyTorch; 5 OUT refused or not written. A failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import tempfile
from pathlib import Path

__all__ = ["DumpError", "OutputRefused", "choose_layers", "convert", "layer_counts", "main", "read_dump",
           "reduce_tensors", "write_atomic"]

MAX_INPUT_BYTES = 256 * 2**20
EXIT_INPUT, EXIT_OUTPUT = 2, 5
PROG = "convert_sglang_expert_load"
TORCH_MISSING = ("reading a .pt dump needs PyTorch, which is not installed here: run this script where SGLang "
                 "is installed, or save the dump there as JSON ({k: v.tolist()}) and convert that")

Matrix = list[list[int]]


class DumpError(ValueError):
    """An input that is not what SGLang writes; the message names the file or the entry."""


class OutputRefused(OSError):
    """OUT exists (without --force), is a symlink or is not a regular file."""


def _check_rows(rows: list, shape: tuple[int, ...], name: str) -> None:
    """Every list under `rows` has the length `shape` says; the last level holds ints ≥ 0."""
    for i, row in enumerate(rows):
        where = f"{name}[{i}]"
        if not isinstance(row, list) or len(row) != shape[0]:
            got = f"{len(row)} entries" if isinstance(row, list) else f"{type(row).__name__} {row!r:.40}"
            raise DumpError(f"{where}: {got} where {shape[0]} entries were expected (ragged)")
        if len(shape) > 1:
            _check_rows(row, shape[1:], where)
        elif not all(type(x) is int and x >= 0 for x in row):     # bool is no count: `type`, not isinstance
            j, bad = next((j, x) for j, x in enumerate(row) if not (type(x) is int and x >= 0))
            raise DumpError(f"{where}[{j}] = {bad!r}: not a count (an integer, not negative)")


def _matrix(value: object, name: str, dims: tuple[int, ...] = (2,)) -> Matrix:
    """A rectangular (layers, experts) list of counts; one with a leading passes dimension is summed over it.

    Example:
        >>> _matrix([[[1, 2], [0, 0]], [[3, 4], [0, 0]]], "logical_count", dims=(2, 3))
        [[4, 6], [0, 0]]
    """
    shape, v = [], value
    while isinstance(v, list) and v:
        shape.append(len(v))
        v = v[0]
    if isinstance(v, list):
        raise DumpError(f"{name}: empty (no layer, no expert or no forward pass recorded)")
    if len(shape) not in dims:
        want = " or ".join(f"{d}-D" for d in dims)
        got = f"{len(shape)}-D {tuple(shape)}" if shape else "missing" if value is None else type(value).__name__
        raise DumpError(f"{name}: {got} where a {want} list (a tensor) was expected")
    assert isinstance(value, list)                  # shape is not empty
    _check_rows(value, tuple(shape[1:]), name)
    if len(shape) == 2:
        return value
    return [[sum(col) for col in zip(*layer, strict=True)] for layer in zip(*value, strict=True)]


def _add(a: Matrix, b: Matrix, what: str) -> Matrix:
    if len(a) != len(b) or len(a[0]) != len(b[0]):
        raise DumpError(f"{what}: {len(b)} layers × {len(b[0])} experts, where {len(a)} × {len(a[0])} were before")
    return [[x + y for x, y in zip(ra, rb, strict=True)] for ra, rb in zip(a, b, strict=True)]


def _records_counts(dump: dict) -> Matrix:
    """per_pass / per_token: the records' physical counts summed, then each slot added to its logical expert."""
    records = dump["records"]
    if not isinstance(records, list) or not records:
        raise DumpError("records: no forward pass recorded" if records == [] else "records: not a list")
    mapping = _matrix(dump.get("last_physical_to_logical_map"), "last_physical_to_logical_map")
    total = [[0] * len(mapping[0]) for _ in mapping]
    for i, record in enumerate(records):
        name = f"records[{i}].global_physical_count"
        if not isinstance(record, dict) or "global_physical_count" not in record:
            raise DumpError(f"{name}: missing")
        total = _add(total, _matrix(record["global_physical_count"], name), f"{name} (against the map)")
    experts = 1 + max(max(row) for row in mapping)   # SGLang gives every logical expert a physical slot
    out = [[0] * experts for _ in mapping]
    for layer, counts, slots in zip(out, total, mapping, strict=True):
        for n, expert in zip(counts, slots, strict=True):
            layer[expert] += n
    return out


def layer_counts(dump: object) -> Matrix:
    """Tokens routed to each (layer, logical expert) of a dump, dense layers included.

    Args:
        dump: the dict SGLang saves (tensors as nested lists), of mode stat or per_pass/per_token.

    Returns:
        One list per layer of the dump, one count per logical expert.

    Raises:
        DumpError: the dump is not in SGLang's format (the message says where).

    Example:
        >>> layer_counts({"rank": 0, "logical_count": [[[0, 0], [3, 1]], [[0, 0], [2, 2]]]})
        [[0, 0], [5, 3]]
    """
    if isinstance(dump, dict) and "logical_count" in dump:
        return _matrix(dump["logical_count"], "logical_count", dims=(2, 3))
    if isinstance(dump, dict) and "records" in dump:
        return _records_counts(dump)
    got = f"keys {sorted(map(str, dump))[:8]}" if isinstance(dump, dict) else f"a {type(dump).__name__}"
    raise DumpError(f"{got}, where SGLang's dump has 'logical_count' (mode stat) or 'records' (per_pass, per_token)")


def choose_layers(counts: Matrix, first_moe_layer: int | None = None,
                  layer_range: tuple[int | None, int | None] = (None, None)) -> tuple[list[int], list[int]]:
    """The layers kept, and those dropped within the range (they have no tokens).

    Args:
        counts: `layer_counts` of a dump.
        first_moe_layer: keep the layers from this one on (those before must have no tokens); None drops
            every layer without tokens.
        layer_range: (A, B) first keeps only the dump's layers A to B - 1; None is either end.

    Raises:
        DumpError: a range outside the dump, a layer before `first_moe_layer` with tokens, no tokens left.

    Example:
        >>> choose_layers([[0, 0], [1, 0], [0, 0], [2, 3]])
        ([1, 3], [0, 2])
    """
    start, stop = layer_range[0] or 0, len(counts) if layer_range[1] is None else layer_range[1]
    if not 0 <= start < stop <= len(counts):
        raise DumpError(f"--layers {start}:{stop} is not a range of the dump's {len(counts)} layers")
    span = range(start, stop)
    first = first_moe_layer or 0
    if busy := [i for i in span if i < first and any(counts[i])]:
        raise DumpError(f"--first-moe-layer {first} would drop layer {busy[0]}, with {sum(counts[busy[0]])} tokens")
    kept = [i for i in span if (i >= first if first_moe_layer is not None else any(counts[i]))]
    if not any(any(counts[i]) for i in kept):
        raise DumpError("no tokens routed in the layers kept: was the recording started "
                        "(POST /start_expert_distribution_record) before the requests?")
    return kept, sorted(set(span) - set(kept))


def convert(dump: object, first_moe_layer: int | None = None,
            layer_range: tuple[int | None, int | None] = (None, None)) -> dict:
    """An SGLang dump (tensors as nested lists) → dagc's expert loads, `{"layers": [[...], ...]}`.

    Example:
        >>> convert({"logical_count": [[[0, 0, 0], [4, 1, 0]], [[0, 0, 0], [2, 0, 5]]]})
        {'layers': [[6, 1, 5]]}
    """
    counts = layer_counts(dump)
    kept, _ = choose_layers(counts, first_moe_layer, layer_range)
    return {"layers": [counts[i] for i in kept]}


def _is_array(value: object) -> bool:
    return hasattr(value, "tolist") and hasattr(value, "ndim")


def _nonnegative(array, name: str):
    if bool((array < 0).any()):
        raise DumpError(f"{name}: a negative count")
    return array


def reduce_tensors(dump: object) -> object:
    """A dump as torch.load gives it → the same dict with lists, the counts summed as tensors first.

    Only the counts become lists: a per_token dump's token data can be gigabytes. Works on anything
    with `ndim`, `shape`, `sum`, `tolist` and `<` (torch tensors; numpy arrays in the tests).
    """
    if not isinstance(dump, dict):
        return dump
    out = dict(dump)
    if _is_array(count := dump.get("logical_count")):
        count = _nonnegative(count, "logical_count")
        out["logical_count"] = (count.sum(0) if count.ndim == 3 else count).tolist()
    if _is_array(dump.get("last_physical_to_logical_map")):
        out["last_physical_to_logical_map"] = dump["last_physical_to_logical_map"].tolist()
    records = dump.get("records")
    if isinstance(records, list) and records and all(
            isinstance(r, dict) and _is_array(r.get("global_physical_count")) for r in records):
        arrays = [_nonnegative(r["global_physical_count"], f"records[{i}].global_physical_count")
                  for i, r in enumerate(records)]
        if len(shapes := sorted({tuple(a.shape) for a in arrays})) > 1:
            raise DumpError(f"records: global_physical_count of shapes {shapes}, where one shape was expected")
        total = arrays[0][None].sum(0)      # a copy in int64, which many int32 passes cannot overflow
        for a in arrays[1:]:
            total = total + a
        out["records"] = [{"global_physical_count": total.tolist()}]
    return out


def _torch_load(path: Path) -> object:
    try:
        import torch
    except ImportError:
        raise DumpError(TORCH_MISSING) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)   # the tensors were saved on the GPU
    except Exception as e:      # torch.load's errors have no common type: bad zip, pickle, unsafe global
        why = " ".join(str(e).split())[:300]      # one line: torch's messages run over several
        raise DumpError(f"{path}: not a torch.save file ({type(e).__name__}: {why})") from None


def read_dump(path: Path) -> object:
    """One input file → the dump with lists for tensors (`.pt`/`.pth` through torch, anything else JSON).

    Raises:
        DumpError: missing, not a regular file, over MAX_INPUT_BYTES, unreadable, or a .pt without PyTorch.
    """
    too_big = f"{path}: over the {MAX_INPUT_BYTES >> 20} MiB this script reads"
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_INPUT_BYTES:
            raise DumpError(too_big if stat.S_ISREG(st.st_mode) else f"{path}: not a regular file")
        if path.suffix in (".pt", ".pth"):
            return reduce_tensors(_torch_load(path))
        with path.open("rb") as f:
            data = f.read(MAX_INPUT_BYTES + 1)
    except OSError as e:
        raise DumpError(f"{path}: cannot be read ({e.strerror or e})") from None
    if len(data) > MAX_INPUT_BYTES:
        raise DumpError(too_big)
    if data.startswith(b"PK\x03\x04"):
        raise DumpError(f"{path}: a torch.save file (zip), not JSON: name it .pt")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:   # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise DumpError(f"{path}: not JSON ({str(e)[:200]})") from None


def render(result: dict) -> str:
    """The output text: one layer a line."""
    return '{"layers": [\n' + ",\n".join("  " + json.dumps(row) for row in result["layers"]) + "\n]}\n"


def _check_output(out: Path, force: bool) -> None:
    if out.is_symlink():
        raise OutputRefused(f"{out} is a symlink: not followed, not replaced")
    if os.path.lexists(out) and not force:
        raise OutputRefused(f"{out} exists: --force replaces it")
    if os.path.lexists(out) and not out.is_file():
        raise OutputRefused(f"{out} is not a regular file")
    if not out.parent.is_dir():
        raise OutputRefused(f"{out.parent} is not a directory")


def write_atomic(out: Path, text: str, force: bool = False) -> None:
    """Write `text` to `out` through a temporary file in its directory: no reader sees half of it.

    Raises:
        OutputRefused: `out` exists (unless `force`), is a symlink or is not a regular file.
        OSError: the write failed; no temporary file is left behind.
    """
    _check_output(out, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        if force:
            os.replace(tmp, out)    # a rename replaces a symlink put there meanwhile, never writes through it
            return
        try:
            os.link(tmp, out)       # fails if OUT appeared since the check: nothing is overwritten
        except FileExistsError:
            raise OutputRefused(f"{out} exists: --force replaces it") from None
        except OSError:             # a filesystem without hard links
            if os.path.lexists(out):
                raise OutputRefused(f"{out} exists: --force replaces it") from None
            os.replace(tmp, out)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _spans(layers: list[int]) -> str:
    """[0, 1, 2, 5] → "0-2, 5"."""
    starts = [i for k, i in enumerate(layers) if k == 0 or layers[k - 1] != i - 1]
    ends = [i for k, i in enumerate(layers) if k == len(layers) - 1 or layers[k + 1] != i + 1]
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in zip(starts, ends, strict=True))


def _index(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: not a layer index (an integer ≥ 0)")
    return int(text)


def _layer_range(text: str) -> tuple[int | None, int | None]:
    a, sep, b = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: expected A:B (layers A to B-1; either may be left out)")
    return (_index(a) if a.strip() else None, _index(b) if b.strip() else None)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="SGLang expert-distribution dump → dagc expert_load.json "
                                "(the script's docstring says where each format comes from)")
    p.add_argument("dumps", nargs="+", metavar="DUMP", help="SGLang's .pt dump (or JSON of it); several are summed")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the expert-load JSON to write")
    p.add_argument("--force", action="store_true", help="replace OUT when it exists")
    p.add_argument("--first-moe-layer", type=_index, metavar="N",
                   help="keep every layer from N on (default: drop the layers without tokens)")
    p.add_argument("--layers", type=_layer_range, default=(None, None), metavar="A:B",
                   help="keep only the dump's layers A to B-1")
    return p


def _say(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit code (the module docstring lists them)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:                     # a usage error (2) or --help (0)
        return e.code if isinstance(e.code, int) else EXIT_INPUT
    out = Path(args.output)
    try:
        _check_output(out, args.force)          # before reading up to gigabytes of input
        counts: Matrix | None = None
        for name in args.dumps:
            one = layer_counts(read_dump(Path(name)))
            counts = one if counts is None else _add(counts, one, name)
        assert counts is not None
        kept, dropped = choose_layers(counts, args.first_moe_layer, args.layers)
    except (DumpError, OutputRefused) as e:
        _say(f"error: {e}")
        return EXIT_OUTPUT if isinstance(e, OutputRefused) else EXIT_INPUT
    if dropped:
        _say(f"dropped layers {_spans(dropped)} of {len(counts)}: no tokens routed to their experts (dense layers)")
    if empty := [i for i in kept if not any(counts[i])]:
        _say(f"warning: layers {_spans(empty)} kept with no tokens routed (--first-moe-layer keeps them)")
    try:
        write_atomic(out, render({"layers": [counts[i] for i in kept]}), args.force)
    except OSError as e:
        _say(f"error: {out}: {e.strerror or e}")
        return EXIT_OUTPUT
    _say(f"wrote {out}: {len(kept)} MoE layers ({_spans(kept)} of the dump) × {len(counts[0])} experts, "
         f"{sum(sum(counts[i]) for i in kept)} token-expert pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
