"""The one-shot engine's in-sandbox driver: the first Python code that runs inside the namespaces (as root, briefly).

Started by ``opc_sandbox.sandbox`` as ``unshare ... python -I -S -B _driver.py SPEC_FD``, already inside the
program's cgroup. It

1. reads its spec (JSON: source, files, uid, nonce, mount plan) from an inherited pipe and closes it,
2. enters a private IPC namespace and builds the mount view (``_isolation.MountView``: size-capped tmpfs
   scratch holding the working directory, the interpreter's directories bound back read-only wherever they
   live, every other mount read-only),
3. writes the program and its files into the working directory, drops to the unprivileged uid/gid (no
   supplementary groups, ``no_new_privs``),
4. runs the program (``_isolation.execute``); only when it returns is the per-run nonce written to the
   report pipe.

Without a mount namespace (no root, no ``unshare``) the working directory is the host temp directory the
harness made (``spec["root"]``). This module is NOT imported by the harness; it must stay stdlib only.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's directory out
import _isolation  # noqa: E402

del sys.path[0]


def main() -> None:
    spec_fd = int(sys.argv[1])
    chunks = []
    while True:
        chunk = os.read(spec_fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(spec_fd)
    spec = json.loads(b"".join(chunks))
    del chunks
    report_fd = spec["report_fd"]
    nonce = spec.pop("nonce")
    os.set_inheritable(report_fd, False)
    root = spec["root"]
    if spec["ipc_namespace"]:
        try:
            _isolation.new_ipc_namespace()
        except OSError as e:
            _isolation.report(report_fd, "warn", f"no private IPC namespace: {e}")
    if spec["isolate_mounts"]:
        root = _isolation.ROOT
        try:
            view = _isolation.MountView(spec["expose"], spec["tmpfs_mb"])
            for w in view.build():
                _isolation.report(report_fd, "warn", w)
        except OSError as e:
            _isolation.report(report_fd, "warn", f"mount isolation failed: {e}")
    program, workdir = _isolation.write_workdir(root, spec["source"], spec["files"], spec["uid"])
    if spec["uid"] is not None:
        _isolation.drop_privileges(spec["uid"], spec["gid"])
    os.chdir(workdir)
    sys.path[:] = [workdir, *spec["sys_path"]]
    import site  # started with -S: the usual path comes from the spec; give back exit/quit/help

    site.setquit()
    site.sethelper()
    sys.argv = [program]
    source, module_name = spec["source"], spec["module_name"]
    del spec, spec_fd
    _isolation.execute(source, program, module_name, report_fd, nonce)


if __name__ == "__main__":
    main()
