"""Session-wide test settings.

* XLA on CPU, float32 (x64 off), unless the environment says otherwise.
* jax's persistent compilation cache, shared with ``.ci/run``:
  ``$KINETIX_BENCH_JAX_CACHE`` or ``~/.cache/kinetix-bench/jax`` (``JAX_COMPILATION_CACHE_DIR``
  wins when set), so a test run does not recompile what an earlier run compiled.
* Hugging Face Hub offline (``HF_HUB_OFFLINE=1``, no telemetry, no progress bars), set before
  huggingface_hub is imported; tests that use the Hub cache point it at a tmp dir.
* The submission queue (``KINETIX_BENCH_QUEUE``) is a tmp folder, never the checkout's.
* No network: a test that connects a socket to anything but loopback (127.0.0.0/8, ::1,
  ``localhost``) or a unix socket fails, unless it is marked ``network``; ``network`` tests skip
  unless ``KINETIX_BENCH_NETWORK=1``, ``gpu`` tests skip without an accelerator.
* Compiled XLA programs are released between tests once the process holds half of the kernel's
  memory-map limit (``vm.max_map_count``): without that a full session aborts (SIGABRT) after a
  few thousand compilations. :mod:`kinetix.compiled_programs` says why.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

# Hugging Face libraries read these once, at import: set before anything imports them.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR",
    os.environ.get("KINETIX_BENCH_JAX_CACHE")
    or os.path.join(os.path.expanduser("~"), ".cache", "kinetix-bench", "jax"),
)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")

import jax  # noqa: E402  (after the environment above)

jax.config.update("jax_enable_x64", False)
# Also set through the config, in case jax was imported before this file set the environment.
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update(
    "jax_persistent_cache_min_compile_time_secs",
    float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]),
)
jax.config.update(
    "jax_persistent_cache_min_entry_size_bytes",
    int(os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"]),
)


def _is_loopback(address) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path (or abstract name)
        return True
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving and connecting would use the network


@pytest.fixture(autouse=True)
def _no_network(request, monkeypatch):
    """Fails a test that opens a non-loopback connection (mark it ``network`` to allow)."""
    if request.node.get_closest_marker("network"):
        yield
        return
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(address):
        if not _is_loopback(address):
            pytest.fail(
                f"test tried to open a network connection to {address!r}; tests run offline "
                "(mark the test @pytest.mark.network if it really needs the network)",
                pytrace=False,
            )

    def connect(self, address):
        guard(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        guard(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield


@pytest.fixture(autouse=True)
def _private_queue(tmp_path_factory, monkeypatch):
    """No test writes into the checkout's submission queue unless it points it somewhere."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("KINETIX_BENCH_QUEUE", str(base / "queue"))


# One pytest process compiles thousands of XLA programs, and jax keeps each of them, with its
# memory mappings, until the process ends: past ``vm.max_map_count`` the process aborts (see
# kinetix/compiled_programs.py). Between tests, drop them once half of that budget is used.
_RELEASES: list[tuple[str, int]] = []


def pytest_runtest_teardown(item, nextitem):
    from kinetix.compiled_programs import memory_map_count, release_compiled_programs_if_needed

    before = memory_map_count()
    if release_compiled_programs_if_needed():
        _RELEASES.append((item.nodeid, before or 0))


def pytest_terminal_summary(terminalreporter):
    from kinetix.compiled_programs import memory_map_count, memory_map_limit

    if _RELEASES or terminalreporter.config.option.verbose > 0:
        terminalreporter.write_line(
            f"compiled programs released {len(_RELEASES)} time(s) to stay under "
            f"vm.max_map_count={memory_map_limit()} (memory maps now: {memory_map_count()})"
        )


def pytest_collection_modifyitems(config, items):
    """``network`` tests run only with ``KINETIX_BENCH_NETWORK=1``; ``gpu`` tests only where jax
    sees an accelerator. Both skip (with the reason) otherwise, so ``-m`` selects by ``slow``
    alone."""
    allow_network = os.environ.get("KINETIX_BENCH_NETWORK") == "1"
    has_gpu = None
    for item in items:
        if item.get_closest_marker("network") and not allow_network:
            item.add_marker(pytest.mark.skip(reason="needs the network: KINETIX_BENCH_NETWORK=1"))
        if item.get_closest_marker("gpu"):
            if has_gpu is None:
                has_gpu = any(d.platform != "cpu" for d in jax.devices())
            if not has_gpu:
                item.add_marker(pytest.mark.skip(reason="needs an accelerator (jax sees none)"))
