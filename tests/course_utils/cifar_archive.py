"""Build CIFAR-format archives and serve them over HTTP on 127.0.0.1, for the loader tests and benchmark.

The layout matches the official ``cifar-10-python.tar.gz``: a folder
``cifar-10-batches-py`` with ``data_batch_1..5``, ``test_batch`` and
``batches.meta``, each a pickled dict with ``b'data'`` (uint8, N x 3072, rows
are 1024 red, 1024 green, 1024 blue values) and ``b'labels'`` (a list of ints).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np

BATCH_DIR = "cifar-10-batches-py"
TRAIN_NAMES = [f"data_batch_{i}" for i in range(1, 6)]


def make_batches(n_per_batch: int = 8, n_test: int = 12, seed: int = 0):
    """Random CIFAR-format batches: ``{name: (data uint8 (n, 3072), labels list)}``."""
    rng = np.random.default_rng(seed)
    batches = {}
    for name, n in [(t, n_per_batch) for t in TRAIN_NAMES] + [("test_batch", n_test)]:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        batches[name] = (data, labels)
    return batches


def expected_arrays(batches):
    """What the loader must return for ``batches``: NHWC images and int64 labels."""
    def nhwc(data):
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)

    X_train = np.concatenate([nhwc(batches[n][0]) for n in TRAIN_NAMES])
    y_train = np.concatenate([np.asarray(batches[n][1], dtype=np.int64) for n in TRAIN_NAMES])
    return X_train, y_train, nhwc(batches["test_batch"][0]), np.asarray(batches["test_batch"][1], dtype=np.int64)


def batch_pickle(name: str, data, labels, protocol: int = 2) -> bytes:
    """The official files are Python 2 pickles that store the pixels as one raw byte string.
    Protocol 2 from Python 3 instead spells bytes via ``_codecs.encode`` (slow to load);
    protocol 4 stores them raw again, which is what the benchmark's baseline needs."""
    raw = pickle.dumps({b"batch_label": name.encode(), b"labels": labels, b"data": data,
                        b"filenames": [f"{name}_{i}.png".encode() for i in range(len(labels))]}, protocol=protocol)
    if protocol == 2:
        # name numpy's reconstructor the way the official (numpy 1.x era) files do
        raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    return raw


def write_batches(folder: Path, batches, protocol: int = 2) -> Path:
    """The extracted form: ``folder/cifar-10-batches-py/<batch>`` files."""
    out = Path(folder) / BATCH_DIR
    out.mkdir(parents=True, exist_ok=True)
    for name, (data, labels) in batches.items():
        (out / name).write_bytes(batch_pickle(name, data, labels, protocol))
    meta = {b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                             b"dog", b"frog", b"horse", b"ship", b"truck"], b"num_vis": 3072}
    (out / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return out


def archive_bytes(batches, compresslevel: int = 6, protocol: int = 2) -> bytes:
    """The whole ``cifar-10-python.tar.gz`` as bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=compresslevel) as tar:
        dir_info = tarfile.TarInfo(BATCH_DIR)
        dir_info.type = tarfile.DIRTYPE
        dir_info.mode = 0o755
        tar.addfile(dir_info)
        members = [("batches.meta", pickle.dumps({b"num_vis": 3072}, protocol=2))]
        members += [(name, batch_pickle(name, *batches[name], protocol)) for name in TRAIN_NAMES + ["test_batch"]]
        for name, payload in members:
            info = tarfile.TarInfo(f"{BATCH_DIR}/{name}")
            info.size = len(payload)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class Server:
    """A tiny HTTP server in a thread. ``routes[path] = (body, mode)``; modes:
    ``"ok"``; ``"short"`` (announces the full Content-Length, sends half, closes);
    ``"nolength"`` (no Content-Length, full body); ``"404"``."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.requests.append(self.path)
                body, mode = server.routes.get(self.path, (b"", "404"))
                if mode == "404":
                    self.send_error(404, "no such file")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                if mode != "nolength":
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if mode == "short" else body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@contextlib.contextmanager
def serve():
    server = Server()
    try:
        yield server
    finally:
        server.close()
