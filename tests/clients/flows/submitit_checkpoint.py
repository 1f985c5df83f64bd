"""submitit: a Checkpointable counter preempted with job._interrupt(),
which must checkpoint, requeue itself (scontrol requeue) and resume."""
import sys
import time
from pathlib import Path

import submitit


class Counter(submitit.helpers.Checkpointable):
    def __init__(self):
        self.i = 0
        self.restarts = 0

    def __call__(self, n, marker):
        with open(str(marker) + ".starts", "a") as f:
            f.write(f"{self.i}\n")
        # a marker file tells the driver that the job is running and how far it is
        while self.i < n:
            self.i += 1
            Path(marker).write_text(f"{self.i}\n")
            time.sleep(1)
        return (self.i, self.restarts)

    def checkpoint(self, *args, **kwargs):
        self.restarts += 1
        return super().checkpoint(*args, **kwargs)


def wait_for(pred, what, timeout):
    t0 = time.time()
    while not pred():
        if time.time() - t0 > timeout:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.5)


def main():
    folder, partition = sys.argv[1], sys.argv[2]
    marker = Path(folder) / "progress"
    ex = submitit.AutoExecutor(folder=folder)
    # 5 minutes: submitit's --signal=USR2@90 is then not due before we interrupt
    ex.update_parameters(timeout_min=5, slurm_partition=partition)
    n = 20
    job = ex.submit(Counter(), n, str(marker))
    print("job id", job.job_id, flush=True)
    # let it count a few steps, then preempt it
    wait_for(lambda: marker.exists() and int(marker.read_text() or 0) >= 3, "counter to reach 3", 120)
    print("interrupting at", marker.read_text().strip(), flush=True)
    job._interrupt()
    res = job.result()
    print("result", res, "state", job.state, flush=True)
    i, restarts = res
    assert i == n, res
    assert restarts >= 1, f"the job was never checkpointed: {res}"
    starts = [int(x) for x in Path(str(marker) + ".starts").read_text().split()]
    print("runs started at counts", starts, flush=True)
    assert len(starts) >= 2 and starts[0] == 0 and starts[1] >= 3, f"did not resume from the checkpoint: {starts}"


if __name__ == "__main__":
    main()
