"""A TCP relay on 127.0.0.1 that caps upload bandwidth: a slow network, made for real.

A kill "mid-transfer" is a race against the transfer itself; on a fast loopback a push of
48 MiB can finish between two polls of the test. Behind this relay the same push takes
seconds, so the kill lands while blobs are still going up, on any machine.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

CHUNK = 16 * 1024


class SlowLink:
    """Relays connections to ``target`` (host, port); client-to-server bytes share one budget."""

    def __init__(self, target: tuple[str, int], bytes_per_second: int) -> None:
        self.target = target
        self.bytes_per_second = bytes_per_second
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._budget_lock = threading.Lock()
        self._next_send = time.monotonic()
        self._closed = threading.Event()
        self._connections: list[socket.socket] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> "SlowLink":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        """Cut every relayed connection with a reset, so nothing buffered here arrives later."""
        self._closed.set()
        self._listener.close()
        for end in self._connections:
            try:
                end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            end.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._connections += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _wait_for_budget(self, size: int) -> None:
        """Each chunk takes its share of the one budget, so N connections do not get N times it."""
        with self._budget_lock:
            start = max(self._next_send, time.monotonic())
            self._next_send = start + size / self.bytes_per_second
        time.sleep(max(0.0, start - time.monotonic()))

    def _pipe(self, source: socket.socket, sink: socket.socket, throttled: bool) -> None:
        try:
            while data := source.recv(CHUNK):
                if throttled:
                    self._wait_for_budget(len(data))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()
