"""CIFAR-10: download once, verify, cache as raw ``.npy`` files, load in milliseconds.

    X_train, y_train, X_test, y_test = load_cifar10_arrays()

The official ``cifar-10-python.tar.gz`` (about 163 MB) is downloaded into the
cache folder (``$COURSE_DATA_DIR``, default ``~/.cache/regopt-course``), checked
against its MD5, and its pickle batches are converted into four ``.npy`` files
plus a small ``manifest.json``. Later loads memory-map those files, so they
take a few milliseconds instead of unpickling and transposing 180 MB.

Every step writes into a temporary name inside the cache folder and is moved
into place with ``os.replace`` only when it is complete and verified, so an
interrupted or corrupt download never leaves a half-built cache behind.

Offline? Run the course on digits (``export COURSE_DATASET=digits``), or copy
the archive from another machine to ``<cache folder>/cifar-10-python.tar.gz``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import socket
import tarfile
import tempfile
import urllib.error
import urllib.request
import http.client
from pathlib import Path

import numpy as np

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
CACHE_SUBDIR = "cifar10"
MANIFEST_NAME = "manifest.json"
CACHE_FORMAT = "regopt-cifar10-npy"
CACHE_VERSION = 1

DATA_DIR_ENV = "COURSE_DATA_DIR"
URL_ENV = "COURSE_CIFAR10_URL"
MD5_ENV = "COURSE_CIFAR10_MD5"
DEFAULT_DATA_DIR = Path("~/.cache/regopt-course")

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
BATCH_DIR = "cifar-10-batches-py"
IMAGE_SHAPE = (32, 32, 3)
NUM_CLASSES = 10
ARRAYS = ("X_train", "y_train", "X_test", "y_test")

_CHUNK = 1 << 20
_SAMPLES = 16  # chunks hashed per file on every load (cheap corruption check)
_SAMPLE_BYTES = 1 << 16
_TIMEOUT = 30.0


class CIFAR10Error(RuntimeError):
    """Base class: something stops CIFAR-10 from loading; the message says how to fix it."""


class DownloadError(CIFAR10Error):
    """The archive could not be fetched (offline, unreachable URL, cut-off transfer)."""


class ChecksumError(CIFAR10Error):
    """The archive's MD5 differs from the expected one."""


class CorruptArchiveError(CIFAR10Error):
    """The archive passed its checksum but is not a readable CIFAR-10 archive."""


class CorruptCacheError(CIFAR10Error):
    """The converted cache on disk is damaged or stale."""


class CacheDirError(CIFAR10Error):
    """The cache folder cannot be created or written."""


def data_dir(cache_dir=None) -> Path:
    """The course's data folder: ``cache_dir``, else ``$COURSE_DATA_DIR``, else ``~/.cache/regopt-course``."""
    chosen = cache_dir if cache_dir is not None else (os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)
    return Path(chosen).expanduser()


def cache_path(cache_dir=None) -> Path:
    """Folder holding the converted arrays and their manifest."""
    return data_dir(cache_dir) / CACHE_SUBDIR


def archive_path(cache_dir=None) -> Path:
    """Where the downloaded (or hand-copied) archive lives."""
    return data_dir(cache_dir) / ARCHIVE_NAME


def _offline_hint(root: Path) -> str:
    return (
        "To work offline, run the course on digits (`export COURSE_DATASET=digits`), "
        f"or download {CIFAR10_URL} on another machine and copy it to {root / ARCHIVE_NAME}"
    )


# --- cache -------------------------------------------------------------------

def _fingerprint(path: Path, size: int) -> str:
    """SHA-256 of the file size and _SAMPLES evenly spaced 64 KiB chunks.

    Reads about 1 MB whatever the file size, so it runs on every load and still
    catches truncation and most overwrites. ``verify=True`` hashes everything.
    """
    h = hashlib.sha256(str(size).encode())
    block = _SAMPLE_BYTES
    with open(path, "rb") as f:
        if size <= _SAMPLES * block:
            h.update(f.read())
        else:
            for i in range(_SAMPLES):
                f.seek((size - block) * i // (_SAMPLES - 1))
                h.update(f.read(block))
    return h.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _corrupt(folder: Path, what: str) -> CorruptCacheError:
    return CorruptCacheError(
        f"the CIFAR-10 cache in {folder} is corrupt or stale ({what}). "
        f"Delete that folder (`rm -rf {folder}`) and run again: it is rebuilt from "
        f"{folder.parent / ARCHIVE_NAME} if that file is there, otherwise downloaded again."
    )


def _load_cache(folder: Path, md5: str, mmap: bool, verify: bool):
    manifest_file = folder / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_file.read_text())
    except FileNotFoundError:
        raise _corrupt(folder, f"{MANIFEST_NAME} is missing") from None
    except (OSError, ValueError) as exc:
        raise _corrupt(folder, f"{MANIFEST_NAME} is unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != CACHE_FORMAT:
        raise _corrupt(folder, f"{MANIFEST_NAME} is not a course cache manifest")
    if manifest.get("version") != CACHE_VERSION:
        raise _corrupt(folder, f"cache version {manifest.get('version')!r}, this course_utils writes {CACHE_VERSION}")
    if manifest.get("source_md5") != md5:
        raise _corrupt(folder, f"built from an archive with MD5 {manifest.get('source_md5')}, expected {md5}")
    arrays = []
    for name in ARRAYS:
        entry = (manifest.get("arrays") or {}).get(name)
        if not isinstance(entry, dict):
            raise _corrupt(folder, f"{MANIFEST_NAME} has no entry for {name}")
        path = folder / f"{name}.npy"
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise _corrupt(folder, f"{path.name} is missing") from None
        if size != entry.get("bytes"):
            raise _corrupt(folder, f"{path.name} has {size} bytes, the manifest says {entry.get('bytes')}")
        if _fingerprint(path, size) != entry.get("fingerprint"):
            raise _corrupt(folder, f"{path.name} content does not match its fingerprint")
        if verify and _sha256(path) != entry.get("sha256"):
            raise _corrupt(folder, f"{path.name} content does not match its SHA-256")
        try:
            arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise _corrupt(folder, f"{path.name} is not a readable .npy file: {exc}") from None
        if list(arr.shape) != entry.get("shape") or str(arr.dtype) != entry.get("dtype"):
            raise _corrupt(folder, f"{path.name} holds {arr.dtype}{arr.shape}, the manifest says {entry.get('dtype')}{entry.get('shape')}")
        # a plain ndarray view: read-only when memory-mapped, so nobody can scribble on the cache
        arrays.append(np.asarray(arr))
    X_train, y_train, X_test, y_test = arrays
    _check_arrays(X_train, y_train, X_test, y_test, lambda what: _corrupt(folder, what))
    return X_train, y_train, X_test, y_test


def _check_arrays(X_train, y_train, X_test, y_test, error):
    for X, y, split in ((X_train, y_train, "train"), (X_test, y_test, "test")):
        if X.dtype != np.uint8 or X.ndim != 4 or X.shape[1:] != IMAGE_SHAPE:
            raise error(f"{split} images are {X.dtype}{X.shape}, expected uint8 (N, 32, 32, 3)")
        if y.dtype != np.int64 or y.shape != (X.shape[0],):
            raise error(f"{split} labels are {y.dtype}{y.shape}, expected int64 ({X.shape[0]},)")
        if y.size and (int(y.min()) < 0 or int(y.max()) >= NUM_CLASSES):
            raise error(f"{split} labels outside 0..{NUM_CLASSES - 1}")


def _write_cache(folder: Path, arrays, md5: str) -> None:
    """Write the arrays into a temporary sibling folder, then rename it into place."""
    root = folder.parent
    tmp = Path(tempfile.mkdtemp(prefix=".cifar10-build-", dir=root))
    try:
        manifest = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "source_md5": md5, "arrays": {}}
        for name, arr in zip(ARRAYS, arrays):
            path = tmp / f"{name}.npy"
            with open(path, "wb") as f:
                np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            size = path.stat().st_size
            manifest["arrays"][name] = {
                "shape": list(arr.shape), "dtype": str(arr.dtype), "bytes": size,
                "fingerprint": _fingerprint(path, size), "sha256": _sha256(path),
            }
        # the manifest is written last: a folder without it is never trusted
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1))
        try:
            os.replace(tmp, folder)
        except OSError:
            if not folder.exists():
                raise
            # another process finished first; keep its copy
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- archive -----------------------------------------------------------------

class _BatchUnpickler(pickle.Unpickler):
    """Unpickles CIFAR batches (dicts, lists, numpy arrays) and nothing else:
    a pickle can run arbitrary code, so only the numpy reconstructors are allowed."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 protocol-2 pickles spell bytes
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR-10 batch")
        # resolved through numpy itself: numpy 2 warns when old pickles name numpy.core
        if name == "_reconstruct":
            return _NP_RECONSTRUCT
        if name == "scalar":
            return _NP_SCALAR
        if module == "_codecs":
            import codecs

            return codecs.encode
        return getattr(np, name)


_NP_RECONSTRUCT = np.zeros(0).__reduce__()[0]
_NP_SCALAR = np.int64(0).__reduce__()[0]


def _read_batch(f, member: str):
    batch = _BatchUnpickler(f, encoding="bytes").load()
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{member} is not a CIFAR-10 batch (no b'data'/b'labels')")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    n = data.shape[0] if data.ndim else 0
    if data.dtype != np.uint8 or data.shape != (n, 3072) or labels.shape != (n,):
        raise ValueError(f"{member} holds data {data.dtype}{data.shape} and {labels.shape} labels, expected uint8 (N, 3072) and N labels")
    # stored as N x (1024 red, 1024 green, 1024 blue) rows; the course uses (N, H, W, C)
    return data.reshape(n, 3, 32, 32).transpose(0, 2, 3, 1), labels


def read_archive(path) -> tuple:
    """Read the batches straight out of a ``cifar-10-python.tar.gz`` (no files extracted).

    Returns ``(X_train, y_train, X_test, y_test)`` with images as uint8 (N, 32, 32, 3).
    Raises ``CorruptArchiveError`` when the file is cut off or not CIFAR-10.
    """
    path = Path(path)
    wanted = {f"{BATCH_DIR}/{name}": name for name in TRAIN_BATCHES + (TEST_BATCH,)}
    found = {}
    try:
        # stream in archive order: a .tar.gz cannot seek cheaply
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                name = wanted.get(member.name)
                if name is None or not member.isfile():
                    continue
                found[name] = _read_batch(tar.extractfile(member), member.name)
    except (tarfile.TarError, EOFError, OSError, ValueError, pickle.UnpicklingError, KeyError, AttributeError, TypeError) as exc:
        raise CorruptArchiveError(
            f"{path} is damaged or not the CIFAR-10 python archive ({type(exc).__name__}: {exc}). "
            f"Delete it (`rm {path}`) and run again to download a fresh copy."
        ) from None
    missing = [n for n in wanted.values() if n not in found]
    if missing:
        raise CorruptArchiveError(
            f"{path} lacks {', '.join(f'{BATCH_DIR}/{m}' for m in missing)}; it is not the CIFAR-10 python archive. "
            f"Delete it (`rm {path}`) and run again."
        )
    X_train = np.concatenate([found[n][0] for n in TRAIN_BATCHES])
    y_train = np.concatenate([found[n][1] for n in TRAIN_BATCHES])
    X_test = np.ascontiguousarray(found[TEST_BATCH][0])
    y_test = found[TEST_BATCH][1]
    _check_arrays(X_train, y_train, X_test, y_test, lambda what: CorruptArchiveError(f"{path}: {what}; delete it and run again"))
    return X_train, y_train, X_test, y_test


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _ensure_writable(root: Path) -> None:
    why = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=root)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        why = exc.strerror or str(exc)
    if why is not None:
        raise CacheDirError(
            f"cannot write the CIFAR-10 cache to {root} ({why}). "
            f"Point the course at a writable folder: `export {DATA_DIR_ENV}=/some/writable/folder` "
            f"(or pass cache_dir=...), or run on digits with `export COURSE_DATASET=digits`."
        )


def _download(url: str, md5: str, root: Path, progress: bool) -> Path:
    """Fetch ``url`` into a temporary file in ``root`` and return it once its MD5 matches.

    The caller reads (and deletes, or renames) that private file, so two notebooks
    downloading at once never read each other's half-written or deleted archive.
    """
    from tqdm.auto import tqdm

    target = root / ARCHIVE_NAME
    fd, tmp_name = tempfile.mkstemp(prefix=".cifar-10-python.", suffix=".part", dir=root)
    tmp = Path(tmp_name)
    ok = False
    try:
        h = hashlib.md5(usedforsecurity=False)
        received = 0
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
                total = response.headers.get("Content-Length")
                total = int(total) if total and total.isdigit() else None
                print(f"Downloading CIFAR-10 from {url} into {root} (happens once)")
                with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                          desc="cifar-10", disable=not progress) as bar:
                    while True:
                        chunk = response.read(_CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)
                        h.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                out.flush()
                os.fsync(out.fileno())
        except http.client.IncompleteRead as exc:
            received += len(exc.partial)
            raise DownloadError(
                f"the CIFAR-10 download from {url} was cut off after {received} of {total} bytes "
                f"(connection dropped). Nothing was kept; run again to retry. {_offline_hint(root)}."
            ) from None
        except urllib.error.HTTPError as exc:
            raise DownloadError(
                f"could not download CIFAR-10: {url} answered HTTP {exc.code} {exc.reason}. "
                f"Check {URL_ENV} if you set it. {_offline_hint(root)}."
            ) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(
                f"could not download CIFAR-10 from {url} ({reason}); are you offline? {_offline_hint(root)}."
            ) from None
        except OSError as exc:  # writing the file: disk full, quota, folder removed
            raise CacheDirError(
                f"could not save the CIFAR-10 download into {root} ({exc.strerror or exc}). "
                f"Free some disk space or `export {DATA_DIR_ENV}=/some/other/folder`, then run again."
            ) from None
        if total is not None and received != total:
            raise DownloadError(
                f"the CIFAR-10 download from {url} was cut off after {received} of {total} bytes. "
                f"Nothing was kept; run again to retry. {_offline_hint(root)}."
            )
        got = h.hexdigest()
        if got != md5:
            raise ChecksumError(
                f"the file downloaded from {url} has MD5 {got}, expected {md5} "
                f"(a damaged transfer or a different file). It was deleted; run again to retry. "
                f"If it keeps failing, download the archive by hand and copy it to {target}."
            )
        ok = True
        return tmp
    finally:
        if not ok:
            tmp.unlink(missing_ok=True)


# --- public entry point -------------------------------------------------------

def load_cifar10_arrays(cache_dir=None, url: str | None = None, download: bool = True, *,
                        md5: str | None = None, mmap: bool = True, verify: bool = False, keep_archive: bool = False,
                        progress: bool = True):
    """CIFAR-10 as ``(X_train, y_train, X_test, y_test)``.

    Images are uint8 of shape (50000, 32, 32, 3) and (10000, 32, 32, 3) (height,
    width, RGB); labels are int64 in 0..9. The official test batch is the test set.

    The first call downloads the archive from ``url`` (default ``$COURSE_CIFAR10_URL``,
    else the official URL), checks it against ``md5`` (default ``$COURSE_CIFAR10_MD5``,
    else the official MD5) and converts it into a cache under ``cache_dir``
    (default ``$COURSE_DATA_DIR``, else ``~/.cache/regopt-course``). An archive
    already present at ``<cache_dir>/cifar-10-python.tar.gz`` is used instead of
    downloading. Later calls read the cache only: no network.

    ``mmap=True`` memory-maps the cached arrays (read-only, loaded lazily by the
    OS); ``mmap=False`` reads them into memory. ``verify=True`` re-hashes the
    whole cache instead of sampling it. ``keep_archive=True`` keeps the
    downloaded archive after conversion (an archive you copied there yourself is
    always kept). Errors are ``CIFAR10Error`` subclasses whose message says how
    to fix the problem; there is never a silent fallback to another dataset.
    """
    root = data_dir(cache_dir)
    url = url or os.environ.get(URL_ENV) or CIFAR10_URL
    md5 = (md5 or os.environ.get(MD5_ENV) or CIFAR10_MD5).strip().lower()
    folder = root / CACHE_SUBDIR
    if folder.is_dir():
        return _load_cache(folder, md5, mmap, verify)

    archive = root / ARCHIVE_NAME
    downloaded = False
    if archive.is_file():
        got = _md5(archive)
        if got != md5:
            raise ChecksumError(
                f"{archive} has MD5 {got}, expected {md5}: it is damaged or not the CIFAR-10 python archive. "
                f"Delete it (`rm {archive}`) and run again to download a fresh copy."
            )
        _ensure_writable(root)
    elif not download:
        raise CIFAR10Error(
            f"CIFAR-10 is not cached in {root} and download=False. "
            f"Call with download=True, or copy {ARCHIVE_NAME} into {root}. {_offline_hint(root)}."
        )
    else:
        _ensure_writable(root)
        archive = _download(url, md5, root, progress)
        downloaded = True

    try:
        try:
            arrays = read_archive(archive)
        except CorruptArchiveError as exc:
            if not downloaded:
                raise
            detail = str(exc).split(" Delete it")[0].replace(str(archive), "the download")
            raise CorruptArchiveError(
                f"the file downloaded from {url} matches MD5 {md5} but is damaged or not the CIFAR-10 python archive "
                f"({detail}). It was deleted. If you set {URL_ENV} or {MD5_ENV}, check them; otherwise run again."
            ) from None
        try:
            _write_cache(folder, arrays, md5)
        except OSError as exc:
            raise CacheDirError(
                f"could not write the CIFAR-10 cache into {root} ({exc.strerror or exc}). "
                f"Free some disk space or `export {DATA_DIR_ENV}=/some/other/folder`, then run again."
            ) from None
        del arrays
        if downloaded and keep_archive:
            os.replace(archive, root / ARCHIVE_NAME)
    finally:
        if downloaded:
            archive.unlink(missing_ok=True)
    return _load_cache(folder, md5, mmap, verify)
