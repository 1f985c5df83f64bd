"""Parsl: a HighThroughputExecutor on a SlurmProvider runs a python_app and a bash_app."""
import glob
import subprocess
import sys
import time
from pathlib import Path

import parsl
from parsl.app.app import bash_app, python_app
from parsl.config import Config
from parsl.executors import HighThroughputExecutor
from parsl.launchers import SingleNodeLauncher, SrunLauncher
from parsl.providers import SlurmProvider


@python_app
def answer():
    return 6 * 7


@bash_app
def hello(path):
    return f"echo hello from parsl > {path}"


def wait_or_explain(fut, rundir, timeout):
    """Wait for fut; if the block job ended first, fail at once with its stderr."""
    t0 = time.time()
    while not fut.done():
        acct = subprocess.run(["sacct", "-X", "-n", "-P", "-o", "JobID,JobName,State,ExitCode"],
                              capture_output=True, text=True).stdout.split("\n")
        for line in filter(None, acct):
            jid, name, state, code = line.split("|")
            mine = glob.glob(f"{rundir}/*/submit_scripts/{name}")  # a block of this run
            if mine and not state.startswith(("PENDING", "RUNNING")):
                errs = "".join(Path(f).read_text() for f in glob.glob(f"{rundir}/*/submit_scripts/{name}.stderr"))
                raise RuntimeError(f"block job {jid} ended {state} {code} before the app ran; its stderr: {errs.strip()!r}")
        if time.time() - t0 > timeout:
            raise TimeoutError(f"app not done after {timeout}s; sacct: {acct}")
        time.sleep(2)


def main():
    partition, rundir, launcher = sys.argv[1], sys.argv[2], sys.argv[3]
    launcher = {"srun": SrunLauncher, "single": SingleNodeLauncher}[launcher]()
    cfg = Config(
        executors=[
            HighThroughputExecutor(
                label="conductor_htex",
                address="127.0.0.1",
                max_workers_per_node=1,
                provider=SlurmProvider(
                    partition=partition,
                    nodes_per_block=1,
                    init_blocks=1,
                    min_blocks=0,
                    max_blocks=1,
                    walltime="00:05:00",
                    launcher=launcher,
                    worker_init=f"export PATH={sys.prefix}/bin:$PATH",
                    cmd_timeout=60,
                ),
            )
        ],
        run_dir=rundir,
        strategy="none",
    )
    parsl.load(cfg)
    try:
        out = Path(rundir) / "hello.txt"
        a = answer()
        b = hello(str(out))
        wait_or_explain(a, rundir, 180)
        res = a.result(timeout=1)
        print("python_app result", res, flush=True)
        assert res == 42, res
        rc = b.result(timeout=120)
        assert rc == 0, rc
        text = out.read_text()
        print("bash_app wrote", repr(text), flush=True)
        assert text.strip() == "hello from parsl", text
    finally:
        parsl.dfk().cleanup()


if __name__ == "__main__":
    main()
