"""course_utils.cifar10 against a small CIFAR-format archive served from 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import os
import socket

import numpy as np
import pytest

from course_utils import cifar10
from course_utils.cifar10 import (
    CacheDirError, ChecksumError, CorruptArchiveError, CorruptCacheError, DownloadError, load_cifar10_arrays,
)

from .cifar_archive import archive_bytes, expected_arrays, make_batches, md5, serve

pytestmark = pytest.mark.xdist_group("course_utils_cifar10")


@pytest.fixture(scope="module")
def batches():
    return make_batches(n_per_batch=8, n_test=12, seed=3)


@pytest.fixture(scope="module")
def archive(batches):
    return archive_bytes(batches)


@pytest.fixture
def server():
    with serve() as s:
        yield s


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for var in (cifar10.DATA_DIR_ENV, cifar10.URL_ENV, cifar10.MD5_ENV):
        monkeypatch.delenv(var, raising=False)


def _leftovers(root):
    """Anything but the finished cache folder and the archive: temp files, half builds."""
    return sorted(p.name for p in root.iterdir() if p.name not in {cifar10.CACHE_SUBDIR, cifar10.ARCHIVE_NAME})


def _assert_same(got, want):
    names = ("X_train", "y_train", "X_test", "y_test")
    for name, g, w in zip(names, got, want):
        assert type(g) is np.ndarray, f"{name} is {type(g)}"
        assert g.dtype == w.dtype and g.shape == w.shape, f"{name}: {g.dtype}{g.shape} != {w.dtype}{w.shape}"
        np.testing.assert_array_equal(g, w, err_msg=name)


def test_happy_path_then_cache_without_server(tmp_path, server, batches, archive):
    server.routes["/c.tgz"] = (archive, "ok")
    got = load_cifar10_arrays(cache_dir=tmp_path, url=server.url("/c.tgz"), md5=md5(archive), progress=False)
    want = expected_arrays(batches)
    _assert_same(got, want)
    assert got[0].shape == (40, 32, 32, 3) and got[2].shape == (12, 32, 32, 3)
    # pixel (h, w, c) of image i comes from row i, column c*1024 + h*32 + w of the batch
    data = batches["data_batch_1"][0]
    assert got[0][2, 5, 7, 1] == data[2, 1024 + 5 * 32 + 7]
    assert server.requests == ["/c.tgz"]
    assert _leftovers(tmp_path) == []
    assert not (tmp_path / cifar10.ARCHIVE_NAME).exists(), "downloaded archive is removed unless keep_archive=True"
    manifest = json.loads((tmp_path / cifar10.CACHE_SUBDIR / cifar10.MANIFEST_NAME).read_text())
    assert manifest["arrays"]["X_train"]["shape"] == [40, 32, 32, 3]

    server.close()
    again = load_cifar10_arrays(cache_dir=tmp_path, url=server.url("/c.tgz"), md5=md5(archive), progress=False)
    _assert_same(again, want)
    assert not again[0].flags.writeable, "memory-mapped cache must be read-only"
    in_memory = load_cifar10_arrays(cache_dir=tmp_path, md5=md5(archive), mmap=False, verify=True)
    _assert_same(in_memory, want)
    assert server.requests == ["/c.tgz"]


def test_env_vars_pick_url_md5_and_folder(tmp_path, server, batches, archive, monkeypatch):
    server.routes["/env.tgz"] = (archive, "nolength")
    monkeypatch.setenv(cifar10.URL_ENV, server.url("/env.tgz"))
    monkeypatch.setenv(cifar10.MD5_ENV, md5(archive).upper())
    monkeypatch.setenv(cifar10.DATA_DIR_ENV, str(tmp_path / "data"))
    got = load_cifar10_arrays(keep_archive=True)  # with the tqdm bar
    _assert_same(got, expected_arrays(batches))
    assert (tmp_path / "data" / cifar10.CACHE_SUBDIR / "X_train.npy").is_file()
    assert (tmp_path / "data" / cifar10.ARCHIVE_NAME).read_bytes() == archive
    assert cifar10.data_dir() == tmp_path / "data"


@pytest.mark.parametrize("protocol", [2, 4])
def test_pickle_flavours_load_without_warnings(tmp_path, batches, protocol):
    import warnings

    blob = archive_bytes(batches, protocol=protocol)
    if protocol == 2:
        assert b"numpy.core.multiarray" in gzip.decompress(blob), "the legacy module name is exercised"
    (tmp_path / cifar10.ARCHIVE_NAME).write_bytes(blob)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning on stderr would cost a notebook cell its points
        got = load_cifar10_arrays(cache_dir=tmp_path, md5=md5(blob), download=False)
    _assert_same(got, expected_arrays(batches))


def test_default_folder_and_official_constants(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cifar10.data_dir() == tmp_path / ".cache" / "regopt-course"
    assert cifar10.CIFAR10_URL == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert cifar10.CIFAR10_MD5 == "c58f30108f718f92721af3b95e74349a"


def test_checksum_mismatch_keeps_nothing(tmp_path, server, archive):
    server.routes["/c.tgz"] = (archive, "ok")
    with pytest.raises(ChecksumError) as info:
        load_cifar10_arrays(cache_dir=tmp_path, url=server.url("/c.tgz"), md5="0" * 32, progress=False)
    msg = str(info.value)
    assert md5(archive) in msg and "0" * 32 in msg and "run again" in msg
    assert list(tmp_path.iterdir()) == [], "a download that fails its checksum must leave nothing behind"


def test_truncated_download_with_content_length(tmp_path, server, archive):
    server.routes["/c.tgz"] = (archive, "short")
    with pytest.raises(DownloadError) as info:
        load_cifar10_arrays(cache_dir=tmp_path, url=server.url("/c.tgz"), md5=md5(archive), progress=False)
    msg = str(info.value)
    assert "cut off" in msg and f"of {len(archive)} bytes" in msg and "run again" in msg
    assert list(tmp_path.iterdir()) == []


def test_cut_archive_without_content_length_fails_checksum(tmp_path, server, archive):
    server.routes["/c.tgz"] = (archive[: len(archive) // 2], "nolength")
    with pytest.raises(ChecksumError):
        load_cifar10_arrays(cache_dir=tmp_path, url=server.url("/c.tgz"), md5=md5(archive), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cut_archive_whose_md5_matches_is_reported_damaged(tmp_path, server, archive):
    cut = archive[: len(archive) * 2 // 3]
    server.routes["/c.tgz"] = (cut, "ok")
    with pytest.raises(CorruptArchiveError) as info:
        load_cifar10_arrays(cache_dir=tmp_path, url=server.url("/c.tgz"), md5=md5(cut), progress=False)
    msg = str(info.value)
    assert "damaged" in msg and "deleted" in msg and cifar10.URL_ENV in msg and ".part" not in msg
    assert not (tmp_path / cifar10.CACHE_SUBDIR).exists()
    assert _leftovers(tmp_path) == []


def test_archive_missing_batches(tmp_path, archive):
    import io
    import tarfile

    src = tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as dst:
        for m in src.getmembers():
            if not m.name.endswith("data_batch_4"):
                dst.addfile(m, src.extractfile(m) if m.isfile() else None)
    data = buf.getvalue()
    (tmp_path / cifar10.ARCHIVE_NAME).write_bytes(data)
    with pytest.raises(CorruptArchiveError, match="data_batch_4"):
        load_cifar10_arrays(cache_dir=tmp_path, md5=md5(data), download=False)


def test_server_down(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError) as info:
        load_cifar10_arrays(cache_dir=tmp_path, url=f"http://127.0.0.1:{port}/c.tgz", progress=False)
    msg = str(info.value)
    assert "COURSE_DATASET=digits" in msg and str(tmp_path / cifar10.ARCHIVE_NAME) in msg
    assert list(tmp_path.iterdir()) == []


def test_http_error(tmp_path, server):
    with pytest.raises(DownloadError, match="HTTP 404"):
        load_cifar10_arrays(cache_dir=tmp_path, url=server.url("/missing.tgz"), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_hand_copied_archive_is_used_offline_and_kept(tmp_path, batches, archive):
    (tmp_path / cifar10.ARCHIVE_NAME).write_bytes(archive)
    got = load_cifar10_arrays(cache_dir=tmp_path, url="http://127.0.0.1:9/unused", md5=md5(archive), download=False)
    _assert_same(got, expected_arrays(batches))
    assert (tmp_path / cifar10.ARCHIVE_NAME).exists()


def test_hand_copied_archive_with_wrong_md5(tmp_path, archive):
    (tmp_path / cifar10.ARCHIVE_NAME).write_bytes(archive[:-10])
    with pytest.raises(ChecksumError) as info:
        load_cifar10_arrays(cache_dir=tmp_path, md5=md5(archive), download=False)
    assert f"rm {tmp_path / cifar10.ARCHIVE_NAME}" in str(info.value)


def test_nothing_cached_and_download_false(tmp_path):
    with pytest.raises(cifar10.CIFAR10Error, match="download=False"):
        load_cifar10_arrays(cache_dir=tmp_path, download=False)


@pytest.fixture
def built(tmp_path, archive):
    (tmp_path / cifar10.ARCHIVE_NAME).write_bytes(archive)
    load_cifar10_arrays(cache_dir=tmp_path, md5=md5(archive), download=False)
    return tmp_path, md5(archive)


@pytest.mark.parametrize("damage, detail", [
    ("truncate", "bytes"),
    ("flip", "fingerprint"),
    ("delete", "missing"),
    ("manifest_garbage", "unreadable"),
    ("manifest_missing", "manifest.json is missing"),
    ("shape_lie", "manifest says"),
])
def test_corrupt_cache_is_detected(built, damage, detail):
    root, digest = built
    folder = root / cifar10.CACHE_SUBDIR
    x = folder / "X_train.npy"
    manifest = folder / cifar10.MANIFEST_NAME
    if damage == "truncate":
        x.write_bytes(x.read_bytes()[:-100])
    elif damage == "flip":
        raw = bytearray(x.read_bytes())
        raw[-1] ^= 0xFF
        x.write_bytes(bytes(raw))
    elif damage == "delete":
        x.unlink()
    elif damage == "manifest_garbage":
        manifest.write_text("{not json")
    elif damage == "manifest_missing":
        manifest.unlink()
    elif damage == "shape_lie":
        m = json.loads(manifest.read_text())
        m["arrays"]["X_test"]["shape"] = [13, 32, 32, 3]
        manifest.write_text(json.dumps(m))
    with pytest.raises(CorruptCacheError) as info:
        load_cifar10_arrays(cache_dir=root, md5=digest, download=False)
    msg = str(info.value)
    assert detail in msg and f"rm -rf {folder}" in msg and "run again" in msg


def test_corrupt_cache_verify_catches_what_sampling_misses(tmp_path, archive, monkeypatch):
    # small sample windows, so that this small cache is not hashed whole
    monkeypatch.setattr(cifar10, "_SAMPLE_BYTES", 256)
    (tmp_path / cifar10.ARCHIVE_NAME).write_bytes(archive)
    load_cifar10_arrays(cache_dir=tmp_path, md5=md5(archive), download=False)
    x = tmp_path / cifar10.CACHE_SUBDIR / "X_train.npy"
    raw = bytearray(x.read_bytes())
    size = len(raw)
    starts = [(size - 256) * i // (cifar10._SAMPLES - 1) for i in range(cifar10._SAMPLES)]
    pos = next(p for p in range(size // 3, size) if not any(s <= p < s + 256 for s in starts))
    raw[pos] ^= 0xFF
    x.write_bytes(bytes(raw))
    # the sampled check cannot see it (documented trade-off); verify=True can
    load_cifar10_arrays(cache_dir=tmp_path, md5=md5(archive), download=False)
    with pytest.raises(CorruptCacheError, match="SHA-256"):
        load_cifar10_arrays(cache_dir=tmp_path, md5=md5(archive), download=False, verify=True)


def test_rebuild_after_deleting_corrupt_cache(built, batches):
    root, digest = built
    folder = root / cifar10.CACHE_SUBDIR
    (folder / "y_test.npy").write_bytes(b"garbage")
    with pytest.raises(CorruptCacheError):
        load_cifar10_arrays(cache_dir=root, md5=digest, download=False)
    import shutil

    shutil.rmtree(folder)  # the fix the message names
    _assert_same(load_cifar10_arrays(cache_dir=root, md5=digest, download=False), expected_arrays(batches))


def test_cache_from_another_archive_is_stale(built):
    root, _ = built
    with pytest.raises(CorruptCacheError, match="expected " + cifar10.CIFAR10_MD5):
        load_cifar10_arrays(cache_dir=root, download=False)


def test_cache_dir_under_a_file_is_reported(tmp_path, server, archive):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    server.routes["/c.tgz"] = (archive, "ok")
    with pytest.raises(CacheDirError) as info:
        load_cifar10_arrays(cache_dir=blocker / "data", url=server.url("/c.tgz"), md5=md5(archive), progress=False)
    assert cifar10.DATA_DIR_ENV in str(info.value) and str(blocker / "data") in str(info.value)
    assert server.requests == [], "nothing is downloaded when it could not be stored"


def test_read_only_cache_dir_permission_denied(tmp_path, server, archive, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):
            # root ignores mode bits: simulate what the kernel would answer a normal user
            def denied(*args, **kwargs):
                raise PermissionError(13, "Permission denied")

            monkeypatch.setattr(cifar10.tempfile, "mkstemp", denied)
        server.routes["/c.tgz"] = (archive, "ok")
        with pytest.raises(CacheDirError) as info:
            load_cifar10_arrays(cache_dir=ro, url=server.url("/c.tgz"), md5=md5(archive), progress=False)
        msg = str(info.value)
        assert "Permission denied" in msg and f"export {cifar10.DATA_DIR_ENV}=" in msg
        assert server.requests == []
    finally:
        ro.chmod(0o755)


def test_interrupted_conversion_leaves_no_cache(tmp_path, archive, batches, monkeypatch):
    (tmp_path / cifar10.ARCHIVE_NAME).write_bytes(archive)
    real_save = np.save
    calls = []

    def dying_save(f, arr, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if the user pressed stop mid-build
        return real_save(f, arr, **kw)

    monkeypatch.setattr(cifar10.np, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        load_cifar10_arrays(cache_dir=tmp_path, md5=md5(archive), download=False)
    assert not (tmp_path / cifar10.CACHE_SUBDIR).exists()
    assert _leftovers(tmp_path) == []
    monkeypatch.setattr(cifar10.np, "save", real_save)
    _assert_same(load_cifar10_arrays(cache_dir=tmp_path, md5=md5(archive), download=False), expected_arrays(batches))


def test_malicious_pickle_is_refused(tmp_path):
    import io
    import pickle
    import tarfile

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    payload = pickle.dumps({b"data": Boom(), b"labels": []}, protocol=2)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    data = buf.getvalue()
    (tmp_path / cifar10.ARCHIVE_NAME).write_bytes(data)
    with pytest.raises(CorruptArchiveError, match="unexpected object"):
        load_cifar10_arrays(cache_dir=tmp_path, md5=md5(data), download=False)


def test_disk_full_during_download(tmp_path, server, archive, monkeypatch):
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(cifar10.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    server.routes["/c.tgz"] = (archive, "ok")
    with pytest.raises(CacheDirError, match="No space left on device"):
        load_cifar10_arrays(cache_dir=tmp_path, url=server.url("/c.tgz"), md5=md5(archive), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_two_loaders_at_once_share_one_cache(tmp_path, server, batches, archive):
    import threading

    server.routes["/c.tgz"] = (archive, "ok")
    results, errors = [None, None], []

    def run(i):
        try:
            results[i] = load_cifar10_arrays(cache_dir=tmp_path, url=server.url("/c.tgz"), md5=md5(archive), progress=False)
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    want = expected_arrays(batches)
    for got in results:
        _assert_same(got, want)
    assert _leftovers(tmp_path) == [] and not (tmp_path / cifar10.ARCHIVE_NAME).exists()
