"""The conftest's network guard: tests run offline, loopback and unix sockets stay usable."""

from __future__ import annotations

import socket

import pytest


def test_remote_connection_fails_the_test():
    with pytest.raises(pytest.fail.Exception, match="network connection"):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)  # TEST-NET-1, never routed
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        with pytest.raises(pytest.fail.Exception):
            s.connect_ex(("192.0.2.1", 80))


def test_loopback_is_allowed():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            conn, _ = server.accept()
            conn.close()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix sockets")
def test_unix_sockets_are_allowed(tmp_path):
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
