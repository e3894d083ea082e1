"""The hostile-program suite: each test attacks one sandbox property and checks verdict + host.

Every program here is run for real in the sandbox (namespaces, uid switch, rlimits) on this machine.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from opc_sandbox import Capabilities, Job, Limits, cgroups, probe, run_many, run_program
from opc_sandbox.forkserver import ForkServer, forkserver_available

CAPS = probe()
needs_isolation = pytest.mark.skipif(
    not (CAPS.root and CAPS.pid_namespace and CAPS.net_namespace and CAPS.mount_namespace),
    reason="needs root + unshare (PID, network, mount namespaces): " + "; ".join(CAPS.missing()),
)

@pytest.fixture(scope="module", params=["oneshot", "forkserver"])
def run(request):
    """Every attack runs against both engines: a fresh ``unshare`` per program, and the warm fork server."""
    if request.param == "oneshot":
        yield run_program
        return
    if not forkserver_available():
        pytest.skip("the fork server needs root + PID, network and mount namespaces")
    server = ForkServer()
    yield server.run
    server.close()


CHECK_OK = "\ndef add(a, b):\n    return a + b\nassert add(2, 3) == 5\n"


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            found.append(int(pid))
    return found


def test_plain_program_passes_and_its_output_is_captured(run):
    r = run('print("hello")' + CHECK_OK, 3.0)
    assert r.passed and r.result == "passed"
    assert r.stdout == "hello\n"


def test_failing_assert_is_a_failure_with_the_message(run):
    r = run("assert 1 + 1 == 3, 'arithmetic'", 3.0)
    assert not r.passed
    assert r.result == "failed: AssertionError: arithmetic"


def test_infinite_loop_times_out_and_is_killed(run):
    t0 = time.monotonic()
    r = run("while True:\n    pass\n", 1.0)
    assert r.status == "timed out" and not r.passed
    assert time.monotonic() - t0 < 30  # killed, not waited for


@needs_isolation
def test_fork_bomb_is_contained_and_leaves_no_process(run):
    src = (
        "import os, time\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        time.sleep(0.01)\n"
        "        os.execv('/bin/sleep', ['sleep', '918273'])\n"
    )
    r = run(src, 2.0, limits=Limits(max_processes=32))
    assert not r.passed
    time.sleep(0.2)
    assert _processes_with("918273") == []


def test_memory_bomb_fails_without_taking_the_host_down(run):
    src = "chunks = []\nwhile True:\n    chunks.append(bytearray(64 << 20))\n"
    r = run(src, 5.0, limits=Limits(memory_mb=512))
    assert not r.passed
    assert "MemoryError" in r.result or r.status == "timed out"


def test_huge_output_is_capped_and_not_a_failure(run):
    src = "import sys\nfor _ in range(200):\n    sys.stdout.write('x' * 100000)\n" + CHECK_OK
    r = run(src, 10.0, limits=Limits(max_output_bytes=4096))
    assert r.passed
    assert len(r.stdout) == 4096 and r.stdout_truncated


@needs_isolation
def test_writing_outside_the_temp_dir_fails_and_leaves_host_untouched(run, tmp_path):
    shared = tmp_path / "world_writable"
    shared.mkdir()
    shared.chmod(0o777)
    tmp_path.chmod(0o755)
    targets = [shared / "pwned.txt", Path("/work/pwned.txt"), Path(os.__file__).with_name("pwned.py")]
    src = "\n".join(f"open({str(t)!r}, 'w').write('x')" for t in targets[:1]) + "\n"
    assert not run(src, 3.0).passed
    for t in targets[1:]:
        assert not run(f"open({str(t)!r}, 'w').write('x')\n", 3.0).passed
    for t in targets:
        assert not t.exists()
    # while its own working directory and /tmp are writable, and the working dir is removed afterwards
    r = run("import os\nopen('mine.txt','w').write('ok')\nopen('/tmp/t','w').write('ok')\nprint(os.getcwd())", 3.0)
    assert r.passed
    assert not Path(r.stdout.strip()).exists()


@needs_isolation
def test_deleting_host_files_fails(run, tmp_path):
    tmp_path.chmod(0o777)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    victim.chmod(0o666)
    src = f"import os, shutil\nos.remove({str(victim)!r})\n"
    assert not run(src, 3.0).passed
    src = f"import shutil\nshutil.rmtree({str(tmp_path)!r})\n"
    assert not run(src, 3.0).passed
    assert victim.read_text() == "keep me"


def test_environment_secrets_are_not_visible(run, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sekrit-4f1d9c")
    monkeypatch.setenv("OPENAI_API_KEY", "sekrit-4f1d9c")
    src = (
        "import os\nprint(dict(os.environ))\n"
        "for pid in os.listdir('/proc'):\n"
        "    try:\n        print(open(f'/proc/{pid}/environ').read())\n"
        "    except Exception:\n        pass\n"
    )
    r = run(src, 3.0)
    assert r.passed
    assert "sekrit-4f1d9c" not in r.stdout + r.stderr


@needs_isolation
def test_private_root_files_are_unreadable(run):
    secret = Path("/root")
    if secret.stat().st_mode & 0o005:
        pytest.skip("/root is world-readable here")
    r = run("import os\nprint(os.listdir('/root'))\nopen('/root/.bashrc').read()\n", 3.0)
    assert not r.passed or "'.bashrc'" not in r.stdout


@needs_isolation
def test_socket_to_loopback_is_unreachable(run):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    try:
        r = run(f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n", 3.0)
        assert not r.passed
        assert "Network is unreachable" in r.result or "refused" in r.result
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()


@needs_isolation
def test_killing_the_parent_does_not_reach_the_harness(run):
    me = os.getpid()
    attacks = (
        "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError:\n    pass\n",
        f"import os, signal\ntry:\n    os.kill({me}, signal.SIGKILL)\nexcept OSError:\n    pass\n",
        "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n",
    )
    for attack in attacks:
        # the verdict stays the program's own: a wrong answer fails, a right one passes
        assert not run(attack + "assert 1 == 2\n", 3.0).passed
        assert run(attack + CHECK_OK, 3.0).passed, attack
    # killing its own process group is suicide (a failure in any engine), never the harness's death
    suicide = "import os, signal\ntry:\n    os.killpg(0, signal.SIGKILL)\nexcept OSError:\n    pass\nassert 1 == 2\n"
    assert not run(suicide, 3.0).passed
    assert os.getpid() == me  # still here
    os.kill(me, 0)


def test_sys_exit_zero_before_the_asserts_is_a_failure(run):
    src = "def f():\n    return 1\nimport sys\nsys.exit(0)\nassert f() == 2\n"
    r = run(src, 3.0)
    assert not r.passed and "SystemExit" in r.result


def test_os_exit_zero_before_the_asserts_is_a_failure(run):
    src = "def f():\n    return 1\nimport os\nos._exit(0)\nassert f() == 2\n"
    r = run(src, 3.0)
    assert not r.passed and r.returncode is not None


def test_printing_a_fake_marker_is_not_a_pass(run):
    src = 'import os, sys\nprint("passed")\nos.write(1, b"passed\\n")\nsys.stdout.flush()\nos._exit(0)\n'
    assert not run(src, 3.0).passed


def test_monkeypatching_builtins_or_assert_cannot_fake_a_pass(run):
    attacks = [
        "import builtins\nbuiltins.AssertionError = type('N', (Exception,), {})\n",
        "import builtins\nbuiltins.print = lambda *a, **k: None\nbuiltins.exit = lambda *a: None\n",
        "import os\nos._exit = lambda code: None\nos.write = lambda fd, b: len(b)\n",
        "import sys\nsys.excepthook = lambda *a: None\nimport atexit\natexit.register(lambda: print('passed'))\n",
    ]
    for attack in attacks:
        r = run(attack + "def f():\n    return 1\nassert f() == 2\n", 3.0)
        assert not r.passed, attack


def test_deep_recursion_fails_and_the_harness_survives(run):
    r = run("def f(n):\n    return f(n + 1)\nf(0)\n", 3.0)
    assert not r.passed and "RecursionError" in r.result
    r = run("import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n    return f(n + 1)\nf(0)\n", 2.0, limits=Limits(memory_mb=256))
    assert not r.passed  # a C stack overflow kills only the child


def test_segfault_in_a_c_extension_is_a_failure(run):
    r = run("import ctypes\nctypes.string_at(0)\n", 3.0)
    assert not r.passed and "SIGSEGV" in r.result


def test_closing_stdout_neither_fakes_nor_breaks_the_verdict(run):
    ok = run("import os, sys\nsys.stdout.close()\nos.close(1)\nos.close(2)\n" + CHECK_OK, 3.0)
    assert ok.passed
    bad = run("import os, sys\nsys.stdout.close()\nos.close(1)\nassert 1 == 2\n", 3.0)
    assert not bad.passed


@needs_isolation
def test_daemon_spawned_by_the_program_does_not_outlive_it(run):
    src = (
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.execv('/bin/sleep', ['sleep', '827364'])\n"
        "    os._exit(0)\n"
        "import time\ntime.sleep(0.3)\n" + CHECK_OK
    )
    r = run(src, 3.0)
    assert r.passed
    time.sleep(0.2)
    assert _processes_with("827364") == []


@needs_isolation
def test_program_runs_as_an_unprivileged_user_in_its_own_pid_namespace(run):
    src = "import os\nprint(os.getuid(), os.getgid(), os.getgroups(), sum(p.isdigit() for p in os.listdir('/proc')))\n"
    r = run(src, 3.0)
    uid, gid, groups, n_procs = r.stdout.split(" ", 3)
    assert uid != "0" and gid != "0" and groups == "[]"
    assert int(n_procs) <= 3  # only the sandbox's own processes are visible


@pytest.mark.parametrize("engine", ["oneshot", "auto"])
def test_pool_runs_hostile_and_honest_programs_side_by_side_with_correct_verdicts(engine):
    jobs = [
        Job("while True:\n    pass\n"),
        Job(CHECK_OK),
        Job("import os\nos._exit(0)\n"),
        Job("import ctypes\nctypes.string_at(0)\n"),
        Job("print('x' * 10**6)\n" + CHECK_OK),
        Job("assert False\n"),
    ]
    results = run_many(jobs, workers=3, timeout_s=1.5, engine=engine)
    assert [r.passed for r in results] == [False, True, False, False, True, False]
    assert results[0].status == "timed out"


def test_harness_survives_a_program_that_signals_its_process_group(tmp_path):
    # the harness thread keeps working while a program spams signals at everything it can see
    hits = []

    def guard(signum, frame):
        hits.append(signum)

    old = signal.signal(signal.SIGUSR1, guard)
    try:
        src = "import os, signal\nfor pid in range(1, 200):\n    try:\n        os.kill(pid, signal.SIGUSR1)\n    except Exception:\n        pass\n"
        t = threading.Thread(target=run_program, args=(src, 3.0))
        t.start()
        t.join(30)
        if CAPS.pid_namespace:
            assert hits == []
    finally:
        signal.signal(signal.SIGUSR1, old)


# --- issue 10: a tighter sandbox (IPC, one memory/pids limit per program, capped scratch, stray writes) ---

needs_cgroup = pytest.mark.skipif(not getattr(CAPS, "cgroup", "old"), reason="needs a writable cgroup (v2, or the v1 memory controller)")


@pytest.fixture(params=["oneshot", "forkserver"])
def engine_with(request):
    """A runner factory for tests that need their own limits (the fork server's tmpfs size is fixed at start)."""
    servers = []

    def make(limits: Limits):
        if request.param == "oneshot":
            return lambda src, timeout_s: run_program(src, timeout_s, limits=limits)
        if not forkserver_available():
            pytest.skip("the fork server needs root + PID, network, mount and IPC namespaces")
        server = ForkServer(limits=limits)
        servers.append(server)
        return lambda src, timeout_s: server.run(src, timeout_s)

    yield make
    for server in servers:
        server.close()


SHM = (
    "import ctypes\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]\n"
)


def _host_shm_keys() -> set[int]:
    rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return {int(r.split()[0]) for r in rows}


@needs_isolation
def test_sysv_shared_memory_dies_with_the_program_and_the_next_program_cannot_see_it(run):
    key = 0x0C0DE000 + (os.getpid() & 0xFFF)
    created = SHM + f"shmid = libc.shmget({key}, 64 << 20, 0o1000 | 0o666)\nassert shmid >= 0, ctypes.get_errno()\n"
    assert run(created + CHECK_OK, 3.0).passed
    try:
        assert key not in _host_shm_keys()
        # the next program (for the fork server: the same warm server) must not find the segment either
        r = run(SHM + f"assert libc.shmget({key}, 0, 0) == -1, 'the previous program left its segment'\n", 3.0)
        assert r.passed, r.result
    finally:
        if key in _host_shm_keys():  # do not leave 64 MB behind when the test fails
            import ctypes

            libc = ctypes.CDLL(None)
            libc.shmctl(libc.shmget(key, 0, 0), 0, None)


FIVE_CHILDREN = (
    "import os, time\n"
    "kids = []\n"
    "for _ in range(5):\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        block = b'\\x01' * (80 << 20)  # touched: resident, not just reserved\n"
    "        time.sleep(1.0)\n"
    "        os._exit(0 if block[-1] == 1 else 3)\n"
    "    kids.append(pid)\n"
    "statuses = [os.waitpid(p, 0)[1] for p in kids]\n"
    "assert statuses == [0] * 5, f'children exited {statuses}'\n"
)


@needs_cgroup
@needs_isolation
def test_a_program_and_all_its_processes_share_one_memory_limit(engine_with):
    # five children holding 80 MB each at once: fine under 1 GiB, not under 256 MiB shared (each child alone
    # is far below its per-process RLIMIT_AS of 256 MiB, so only the shared limit can stop them)
    assert engine_with(Limits(memory_mb=1024))(FIVE_CHILDREN, 20.0).passed
    r = engine_with(Limits(memory_mb=256))(FIVE_CHILDREN, 20.0)
    assert not r.passed
    assert "children exited" in r.result or "out of memory" in r.result, r.result
    # every program's cgroup is gone afterwards
    assert [d for h in cgroups.support().hierarchies for d in h.base.iterdir() if d.is_dir()] == []


def test_without_a_writable_cgroup_the_fallback_is_named():
    caps = Capabilities(True, "/usr/bin/unshare", True, True, True, True, None)
    assert any("no writable cgroup" in m and "RLIMIT_AS" in m for m in caps.missing())
    assert not any("cgroup" in m for m in Capabilities(True, "/usr/bin/unshare", True, True, True, True,
                                                       "v1-memory").missing())


@needs_cgroup
@needs_isolation
def test_fork_bomb_stops_at_the_programs_pids_limit(engine_with):
    src = (
        "import os, time\n"
        "n = 0\n"
        "while n < 500:\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        os.execv('/bin/sleep', ['sleep', '614253'])\n"
        "    n += 1\n"
        "cg = [l.split(':', 2)[2] for l in open('/proc/self/cgroup').read().splitlines() if ':pids:' in l]\n"
        "limit = open(f'/sys/fs/cgroup/pids{cg[0]}/pids.max').read().strip() if cg else 'no v1 pids'\n"
        "print(n, limit)\n" + CHECK_OK
    )
    r = engine_with(Limits(max_processes=24))(src, 10.0)
    assert r.passed, r.result
    forked, limit = r.stdout.split(" ", 1)
    assert int(forked) < 24
    if "v1-pids" in (CAPS.cgroup or ""):
        assert limit.strip() == "24"
    time.sleep(0.2)
    assert _processes_with("614253") == []


@needs_isolation
def test_scratch_is_a_size_capped_tmpfs_not_the_host_disk(engine_with):
    before = set(Path("/tmp").glob("opc-sbx-*"))
    run_capped = engine_with(Limits(tmpfs_mb=16, max_file_mb=256))
    for target in ("big.bin", "/tmp/big.bin", "/dev/shm/big.bin"):
        r = run_capped(f"with open({target!r}, 'wb') as f:\n    f.write(b'x' * (48 << 20))\n", 10.0)
        assert not r.passed and "No space left on device" in r.result, (target, r.result)
    assert set(Path("/tmp").glob("opc-sbx-*")) == before  # nothing of the program's on the host's /tmp
    assert run_capped("with open('small.bin', 'wb') as f:\n    f.write(b'x' * (4 << 20))\n" + CHECK_OK, 10.0).passed


@needs_isolation
@pytest.mark.parametrize("stdio", ["kept", "closed"])
def test_double_forked_daemon_does_not_outlive_the_program(run, stdio):
    close = "    for fd in range(0, 256):\n        try:\n            os.close(fd)\n        except OSError:\n            pass\n"
    src = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n" + ("    " + close.replace("\n    ", "\n        ") if stdio == "closed" else "")
        + "        os.execv('/bin/sleep', ['sleep', '736251'])\n"
        "    os._exit(0)\n"
        "time.sleep(0.3)\n" + CHECK_OK
    )
    r = run(src, 3.0)
    assert r.passed, r.result
    time.sleep(0.2)
    assert _processes_with("736251") == []


@needs_isolation
def test_spraying_the_pass_marker_at_every_fd_is_not_a_pass(run):
    src = (
        "import os, glob\n"
        "fakes = [b'passed\\n', b'{\"kind\": \"start\", \"text\": \"\"}\\n', b'0' * 32 + b'\\n',\n"
        "         b'{\"passed\": true, \"timed_out\": false}\\n', b'ok\\n']\n"
        "paths = glob.glob('/proc/*/fd/*')\n"
        "for fd in [int(f) for f in os.listdir('/proc/self/fd')] + list(range(1024)):\n"
        "    for fake in fakes:\n"
        "        try:\n"
        "            os.write(fd, fake)\n"
        "        except OSError:\n"
        "            pass\n"
        "for p in paths:\n"
        "    try:\n"
        "        with open(p, 'wb') as f:\n"
        "            for fake in fakes:\n"
        "                f.write(fake)\n"
        "    except OSError:\n"
        "        pass\n"
        "os._exit(0)\n"
    )
    r = run(src, 5.0)
    assert not r.passed
    # and the engine still works (the fork server's protocol was not corrupted)
    assert run(CHECK_OK, 3.0).passed
