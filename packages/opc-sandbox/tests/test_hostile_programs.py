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

from opc_sandbox import Job, Limits, probe, run_many, run_program
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
