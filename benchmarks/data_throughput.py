"""Data-stage throughput benchmarks, each against a named baseline in the same run (ratios reported).

Run on demand, never part of ``make test``:

    .venv/bin/python benchmarks/data_throughput.py [--dev ../shared/data/raw_code/dev.jsonl.gz] [--docs 600]
        [--only whole_command|signals_filter|minhash|dedup] [--repeat 3]

    # the whole command against the reference (build the reference once, see below):
    OPC_REF_ROOT=/tmp/opcref/opc_data_filtering .venv/bin/python benchmarks/data_throughput.py --only whole_command

Sections:

* ``bench_whole_command``: the whole ``opc data filter INPUT OUT`` command (one worker: one core) (start-up imports,
  reading, language id, documents, signals, rules, writing Parquet) against the whole OpenCoder reference
  filter driven by ``../shared/reference/driver/opc_reference_driver.py`` on the same input, in the same
  run, each a child process pinned to one core (``--cpu``), timed in CPU seconds (user + sys of the child,
  ``os.wait4``), ratio reported, on the dev corpus and on a varied mix of real files heavy in languages
  that still use the Pygments fallback (``build_varied_mix``). Also the keep/drop agreement with the
  reference's ``effective`` (the few differences are its seeded random rules, DIVERGENCES.md section 1).
  Build the reference at its pinned commit (it is never part of this repository):
  fetch ``github:OpenCoder-llm/opc_data_filtering`` with the search tool's fetch (a git directory),
  then ``OPCREF=/tmp/opcref bash ../shared/reference/driver/setup.sh GIT_DIR``; give its root as
  ``$OPC_REF_ROOT`` (or ``--ref-root``); its Python is ``$OPC_REF_ROOT/../venv/bin/python``.

* ``bench_signals_filter``: files/s and MB/s (raw bytes) on one core for language id + every quality
  signal + the keep/drop decision (``opc_data.filtering.filter_records``) over the whole dev corpus.
  Named baseline: the OpenCoder reference implementation measured on this machine at 0.29 MB/s per
  core (median; 0.36 at best; ``REFERENCE_MB_PER_S``; it is not installable here, so it cannot run in
  the same process). In the same run we also time our own pipeline with the Pygments code/comment
  split forced for every language (the reference's lexer route) and check the decisions against the
  reference's ``effective`` when ``--reference`` (opc_dev.jsonl.gz) is present.
* ``bench_minhash``: MinHash signatures/s at 2048 permutations, one core, on dev-corpus documents.
  Baselines: ``datasketch.MinHash.update`` per shingle and ``update_batch`` (the reference semantics),
  and ``rensa.RMinHash`` (Rust). Two timings for each: the *kernel* (shingles already made, as each
  library wants them: our 64-bit hashes, rensa's shingle strings, datasketch's shingle tuples) and
  *end to end* (document text -> signature, shingling included: ``str.split`` 5-grams in Python for
  the baselines, our numba tokenizer for ours). Also the whole ``deduplicate`` on the corpus.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

_SHARED = next((p / "shared" for p in Path(__file__).resolve().parents if (p / "shared" / "data").is_dir()),
               Path("/work/shared"))  # ../shared beside a checkout (a worktree sits one level deeper)
DEFAULT_DEV = _SHARED / "data" / "raw_code" / "dev.jsonl.gz"
NUM_PERM = 2048


def _load(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _per_doc_seconds(fn: Callable[[object], object], items: list, repeat: int = 3) -> float:
    """Best-of-``repeat`` mean seconds per item (best-of damps the noise of a shared machine)."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            fn(item)
        runs.append((time.perf_counter() - start) / len(items))
    return min(runs)


def bench_minhash(dev_path: Path, n_docs: int = 600) -> dict[str, float]:
    """Signatures/s of ours vs datasketch vs rensa at 2048 permutations (see module doc)."""
    import rensa
    from datasketch import MinHash

    from opc_data.minhash import signature, text_signature
    from opc_data.shingles import shingle_hash, shingle_hashes, shingle_tuples

    records = [r for r in _load(dev_path) if not r["is_binary"] and r["content"].split()]
    step = max(1, len(records) // n_docs)
    docs = [r["content"] for r in records[::step]][:n_docs]
    five_kb = [d for d in (r["content"] for r in records) if 4000 <= len(d.encode()) <= 6000][:200]
    results: dict[str, float] = {}

    def py_shingles(text: str) -> list[str]:
        return [" ".join(s) for s in shingle_tuples(text)]

    hash32 = lambda s: shingle_hash(s) & 0xFFFFFFFF  # noqa: E731  (our hash, datasketch's scheme)

    def ds_update(tuples: list) -> None:
        m = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=hash32)
        for s in tuples:
            m.update(s)

    def ds_batch(tuples: list) -> None:
        MinHash(num_perm=NUM_PERM, seed=1, hashfunc=hash32).update_batch(tuples)

    def ds_default_update(strings: list[bytes]) -> None:  # datasketch out of the box: SHA-1 per shingle
        m = MinHash(num_perm=NUM_PERM, seed=1)
        for s in strings:
            m.update(s)

    def rensa_sig(strings: list[str]) -> None:
        m = rensa.RMinHash(NUM_PERM, 1)
        m.update(strings)
        m.digest()

    for label, sample in (("sample", docs), ("5kb", five_kb)):
        text_signature(sample[0])  # compile / warm the numba kernels outside the timing
        hashes = [shingle_hashes(d) for d in sample]
        tuples = [shingle_tuples(d) for d in sample]
        strings = [py_shingles(d) for d in sample]
        encoded = [[s.encode() for s in ss] for ss in strings]
        few = max(10, len(sample) // 10)  # datasketch is slow: time it on a tenth
        t = {
            "ours_kernel": _per_doc_seconds(signature, hashes),
            "ours_end_to_end": _per_doc_seconds(text_signature, sample),
            "rensa_kernel": _per_doc_seconds(rensa_sig, strings),
            "rensa_end_to_end": _per_doc_seconds(lambda d: rensa_sig(py_shingles(d)), sample),
            "datasketch_update": _per_doc_seconds(ds_update, tuples[:few], repeat=1),
            "datasketch_update_batch": _per_doc_seconds(ds_batch, tuples[:few], repeat=1),
            "datasketch_default_sha1_update": _per_doc_seconds(ds_default_update, encoded[:few], repeat=1),
        }
        size_kb = statistics.mean(len(d.encode()) for d in sample) / 1024
        n_sh = statistics.mean(len(h) for h in hashes)
        print(
            f"\nMinHash {NUM_PERM} perms, one core, {label}: {len(sample)} docs, mean {size_kb:.1f} KB, "
            f"{n_sh:.0f} distinct shingles"
        )
        for name, sec in t.items():
            print(f"  {name:32s} {sec * 1e3:9.3f} ms/doc  {1 / sec:10.0f} signatures/s")
        for base in ("rensa_kernel", "datasketch_update", "datasketch_update_batch"):
            print(f"  ours_kernel vs {base:24s} {t[base] / t['ours_kernel']:8.1f}x faster")
        for base in ("rensa_end_to_end", "datasketch_update"):
            print(f"  ours_end_to_end vs {base:20s} {t[base] / t['ours_end_to_end']:8.1f}x faster")
        results.update({f"{label}.{k}": v for k, v in t.items()})
    return results


# The varied mix: real files of this machine's installed software (Debian packages, the Google Cloud SDK,
# the shared virtualenv), heavy in languages our scanners do not cover (YAML, shell, Perl, CMake, XML,
# Makefile, PHP, Tcl, reStructuredText, ...), plus every 4th dev file. Files are taken in sorted path order,
# evenly spaced, <= MIX_MAX_BYTES each, so the same machine image gives the same mix.
MIX_GLOBS: tuple[tuple[str, str, int], ...] = (
    ("/usr/lib/google-cloud-sdk/lib", "**/*.yaml", 260),
    ("/usr/share/perl/5.36.0", "**/*.pm", 90),
    ("/usr/share/perl5", "**/*.pm", 50),
    ("/usr/share/cmake-3.25/Modules", "**/*.cmake", 110),
    ("/usr/share/cmake-3.25/Help", "**/*.rst", 50),
    ("/usr/lib/google-cloud-sdk/platform", "**/*.xml", 60),
    ("/usr/lib/google-cloud-sdk/platform", "**/*.php", 50),
    ("/usr/lib/google-cloud-sdk/platform", "**/*.sh", 20),
    ("/usr/lib/perf-core", "**/*.sh", 39),
    ("/usr/share/doc/git/contrib", "**/*.sh", 12),
    ("/usr/share/doc/git/contrib", "**/Makefile", 12),
    ("/usr/share/dpkg", "*.mk", 7),
    ("/usr/share/tcltk", "**/*.tcl", 30),
    ("/usr/share/alsa/ucm2", "**/*.conf", 40),
    ("/usr/lib/llvm-14/build/utils", "**/*.cfg", 20),
    ("/usr/lib/node_modules/npm/docs", "**/*.md", 30),
    ("/usr/lib/google-cloud-sdk/platform", "**/*.cfg", 10),
    ("/usr/lib/google-cloud-sdk/platform", "**/*.toml", 10),
)
MIX_MAX_BYTES = 64_000


def build_varied_mix(out: Path, dev_path: Path = DEFAULT_DEV) -> tuple[int, float]:
    """Write the varied mix (see ``MIX_GLOBS``) as Stack-style JSONL.gz; returns (files, MB)."""
    import hashlib

    records = _load(dev_path)[::4]
    for root, pattern, count in MIX_GLOBS:
        paths = sorted(p for p in Path(root).glob(pattern) if p.is_file() and 0 < p.stat().st_size <= MIX_MAX_BYTES)
        step = max(1, len(paths) // count) if paths else 1
        for p in paths[::step][:count]:
            data = p.read_bytes()
            if b"\0" in data[:8000]:
                continue
            try:
                content = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            records.append({
                "blob_id": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
                "repo_name": "local/" + root.strip("/").replace("/", "-"),
                "path": str(p.relative_to(root)), "content": content, "size": len(data),
                "license": "unknown", "is_binary": False, "src_encoding": "UTF-8",
            })
    with gzip.open(out, "wt", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    return len(records), sum(int(r["size"]) for r in records) / 1e6


REFERENCE_MB_PER_S = 0.29  # OpenCoder reference filter, one core, median on this machine (issue #3)
DEFAULT_REFERENCE = DEFAULT_DEV.parents[2] / "reference" / "opc_dev.jsonl.gz"


def bench_signals_filter(
    dev_path: Path, repeat: int = 3, reference: Path | None = DEFAULT_REFERENCE
) -> dict[str, float]:
    """Signals + filter throughput on one core vs the reference's 0.29 MB/s (see module doc)."""
    import opc_data.lexing as lexing
    from opc_data.filtering import FilterConfig, filter_records

    records = _load(dev_path)
    mb = sum(int(r["size"]) for r in records) / 1e6
    config = FilterConfig()
    list(filter_records(records[:100], config))  # warm-up: imports, regex compilation
    runs = []
    rows: list[dict] = []
    for _ in range(repeat):
        start = time.process_time()  # CPU time of this process = one core
        rows = list(filter_records(records, config))
        runs.append(time.process_time() - start)
    sec = statistics.median(runs)
    results = {"files_per_s": len(records) / sec, "mb_per_s": mb / sec, "seconds": sec}
    print(
        f"\nsignals+filter on {len(records)} files ({mb:.1f} MB), one core, median of {repeat}: {sec:.2f} s CPU"
    )
    print(f"  ours                     {results['files_per_s']:8.0f} files/s {results['mb_per_s']:6.2f} MB/s")
    print(f"  reference (named)                         {REFERENCE_MB_PER_S:6.2f} MB/s")
    print(f"  ours vs reference        {results['mb_per_s'] / REFERENCE_MB_PER_S:8.1f}x faster")

    # same run: our pipeline with the Pygments split for every language (the reference's lexer route)
    saved = lexing.split_code_comment
    lexing.split_code_comment = lambda text, program_lang: None  # type: ignore[assignment]
    try:
        start = time.process_time()
        list(filter_records(records, config))
        pyg = time.process_time() - start
    finally:
        lexing.split_code_comment = saved
    results["pygments_split_mb_per_s"] = mb / pyg
    print(
        f"  ours, Pygments split     {len(records) / pyg:8.0f} files/s {mb / pyg:6.2f} MB/s "
        f"(our scanners: {pyg / sec:.1f}x)"
    )

    if reference is not None and reference.exists():
        ref = _load(reference)
        if len(ref) == len(rows):
            agree = sum(int(r["keep"]) == f["effective"] for r, f in zip(rows, ref, strict=True)) / len(ref)
            results["keep_agreement"] = agree
            print(f"  keep/drop agreement with the reference's effective: {agree:.4f}")
    return results


DRIVER = _SHARED / "reference" / "driver" / "opc_reference_driver.py"


def _cpu_seconds(cmd: list[str], cpu: int, env: dict[str, str] | None = None) -> float:
    """Run ``cmd`` pinned to core ``cpu``; its CPU seconds (user + sys, descendants it waited for included)."""
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),  # noqa: PLW1509  (no threads here)
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def bench_whole_command(corpora: dict[str, Path | None], ref_root: Path | None, cpu: int = 0) -> dict[str, float]:
    """The whole ``opc data filter`` vs the whole reference filter, one core each, CPU s (module doc)."""
    import pyarrow.parquet as pq

    opc = Path(sys.executable).with_name("opc")
    ref_python = ref_root.parent / "venv" / "bin" / "python" if ref_root else None
    if ref_root is None or not (ref_root.is_dir() and ref_python and ref_python.exists()):
        print("\nwhole command: no reference (set OPC_REF_ROOT or --ref-root; see the module doc): ours only")
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="opc-bench-") as tmp:
        for label, corpus in corpora.items():
            if corpus is None:
                corpus = Path(tmp) / "varied_mix.jsonl.gz"
                build_varied_mix(corpus)
            records = _load(corpus)
            mb = sum(int(r["size"]) for r in records) / 1e6
            out = Path(tmp) / f"ours-{label}"
            # default workers: one per core the process may use, so pinned to one core it filters inline
            ours = _cpu_seconds([str(opc), "data", "filter", str(corpus), str(out)], cpu)
            keep = [k for f in sorted(out.glob("part-*.parquet")) for k in pq.read_table(f, columns=["keep"])
                    .column("keep").to_pylist()]
            print(f"\nwhole command on {label}: {len(records)} files ({mb:.1f} MB), one core (cpu {cpu}), CPU s")
            print(f"  opc data filter (whole)       {ours:8.2f} s  {mb / ours:6.2f} MB/s")
            results[f"{label}.ours_s"] = ours
            if ref_root is None or ref_python is None or not ref_python.exists():
                continue
            ref_out = Path(tmp) / f"ref-{label}.jsonl.gz"
            env = {**os.environ, "OPC_REF_ROOT": str(ref_root)}
            ref = _cpu_seconds([str(ref_python), str(DRIVER), "--input-jsonl", str(corpus), "--output", str(ref_out)],
                               cpu, env)
            effective = [int(r["effective"]) for r in _load(ref_out)]
            agree = sum(int(k) == e for k, e in zip(keep, effective, strict=True))
            print(f"  reference filter (driver)     {ref:8.2f} s  {mb / ref:6.2f} MB/s")
            print(f"  ours vs reference             {ref / ours:8.1f}x faster")
            print(f"  keep/drop equal to the reference's effective: {agree} / {len(keep)}")
            results.update({f"{label}.reference_s": ref, f"{label}.ratio": ref / ours,
                            f"{label}.agreement": agree / len(keep)})
    return results


def bench_dedup(dev_path: Path) -> None:
    """Whole exact + fuzzy ``deduplicate`` on the corpus (no baseline: a scale reference)."""
    from opc_data.dedup import deduplicate

    records = _load(dev_path)
    mb = sum(len(r["content"].encode("utf-8", "surrogatepass")) for r in records) / 1e6
    deduplicate(records[:50])
    start = time.perf_counter()
    result = deduplicate(records)
    sec = time.perf_counter() - start
    s = result.stats
    print(
        f"\ndeduplicate on {len(records)} records ({mb:.1f} MB): {sec:.2f} s, {len(records) / sec:.0f} records/s, "
        f"{mb / sec:.1f} MB/s; exact removed {s['exact_removed']}, fuzzy removed {s['fuzzy_removed']}, "
        f"verified pairs {s['candidate_pairs']}, rejected {s['verification_rejected']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV, help="Stack-style JSONL(.gz) corpus")
    parser.add_argument("--docs", type=int, default=600, help="documents in the MinHash sample")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes of signals+filter (median)")
    parser.add_argument(
        "--reference", type=Path, default=DEFAULT_REFERENCE, help="opc_dev.jsonl.gz (optional)"
    )
    parser.add_argument(
        "--only",
        choices=("whole_command", "signals_filter", "minhash", "dedup"),
        action="append",
        help="run only these sections (repeatable); default: all",
    )
    parser.add_argument("--ref-root", type=Path, default=os.environ.get("OPC_REF_ROOT"),
                        help="the reference checkout (opc_data_filtering; its venv beside it)")
    parser.add_argument("--cpu", type=int, default=0, help="the core both whole commands are pinned to")
    parser.add_argument("--mix", type=Path, default=None, help="a varied mix already built (default: build one)")
    args = parser.parse_args()
    only = set(args.only or ("whole_command", "signals_filter", "minhash", "dedup"))
    if "whole_command" in only:
        bench_whole_command({"dev": args.dev, "varied_mix": args.mix}, args.ref_root and Path(args.ref_root), args.cpu)
    if "signals_filter" in only:
        bench_signals_filter(args.dev, args.repeat, args.reference)
    if "minhash" in only:
        bench_minhash(args.dev, args.docs)
    if "dedup" in only:
        bench_dedup(args.dev)


if __name__ == "__main__":
    main()
