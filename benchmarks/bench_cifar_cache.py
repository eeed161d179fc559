"""CIFAR-10 load time: the course cache versus unpickling the original batches.

Builds a full-size CIFAR-format archive of random bytes (50,000 x 3,072 uint8
training images, 10,000 test images) in a temporary folder, converts it once
with ``course_utils.cifar10``, then times, in this process (median of a few
runs, files in the OS page cache for both):

- baseline: ``pickle.load`` of the six extracted batch files and the reshape to
  (N, 32, 32, 3), as the classic CS231n loader does;
- cache: ``load_cifar10_arrays()`` memory-mapping the .npy files (the default),
  including its manifest and fingerprint checks;
- cache, mmap=False: the same, reading every byte into memory.

Target: the default cached load is at least 10x faster than the baseline.
Usage: python benchmarks/bench_cifar_cache.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from course_utils import cifar10  # noqa: E402
from tests.course_utils.cifar_archive import BATCH_DIR, TRAIN_NAMES, make_batches, write_batches  # noqa: E402

TARGET = 10.0


def load_pickle_batches(folder: Path):
    """The baseline: unpickle the original batch files and lay the images out as (N, H, W, C)."""
    xs, ys = [], []
    for name in TRAIN_NAMES + ["test_batch"]:
        with open(folder / name, "rb") as f:
            d = pickle.load(f, encoding="bytes")
        xs.append(d[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        ys.append(np.asarray(d[b"labels"], dtype=np.int64))
    return np.concatenate(xs[:5]), np.concatenate(ys[:5]), np.ascontiguousarray(xs[5]), ys[5]


def median_time(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-cifar-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        batches = make_batches(n_per_batch=10_000, n_test=10_000, seed=0)
        # protocol 4 keeps the pixels as one raw byte string, like the official Python 2 files,
        # so the baseline is not slowed down by protocol 2's latin-1 round trip
        extracted = write_batches(tmp / "extracted", batches, protocol=4)
        del batches
        root = tmp / "data"
        root.mkdir()
        archive = root / cifar10.ARCHIVE_NAME
        with tarfile.open(archive, "w:gz", compresslevel=1) as tar:  # random bytes do not compress anyway
            tar.add(extracted, arcname=BATCH_DIR)
        digest = hashlib.md5(archive.read_bytes()).hexdigest()
        print(f"generated a {archive.stat().st_size / 2**20:.0f} MiB CIFAR-format archive in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        ref = cifar10.load_cifar10_arrays(cache_dir=root, md5=digest, download=False, progress=False)
        print(f"one-off conversion into the cache (MD5 check, unpickle, write .npy): {time.perf_counter() - t0:.2f} s")
        base = load_pickle_batches(extracted)
        for a, b in zip(ref, base):
            assert a.shape == b.shape and np.array_equal(a, b), "cache and pickle batches disagree"
        assert ref[0].shape == (50_000, 32, 32, 3) and ref[2].shape == (10_000, 32, 32, 3)
        del ref, base

        t_pickle = median_time(lambda: load_pickle_batches(extracted), args.repeats)
        t_mmap = median_time(lambda: cifar10.load_cifar10_arrays(cache_dir=root, md5=digest, download=False), args.repeats)
        t_read = median_time(lambda: cifar10.load_cifar10_arrays(cache_dir=root, md5=digest, download=False, mmap=False), args.repeats)

    print(f"pickle batches (baseline)    : {t_pickle * 1e3:8.1f} ms")
    print(f"cache, memory-mapped (default): {t_mmap * 1e3:8.1f} ms   {t_pickle / t_mmap:6.1f}x faster")
    print(f"cache, read into memory       : {t_read * 1e3:8.1f} ms   {t_pickle / t_read:6.1f}x faster")
    ok = t_pickle / t_mmap >= TARGET
    print(f"target >= {TARGET:.0f}x for the default cached load: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
