"""submitit: submit add(1, 2) and wait for its result."""
import sys

import submitit


def add(a, b):
    return a + b


def main():
    folder, partition = sys.argv[1], sys.argv[2]
    ex = submitit.AutoExecutor(folder=folder)
    assert ex.cluster == "slurm", f"AutoExecutor picked {ex.cluster!r}, not slurm"
    ex.update_parameters(timeout_min=1, slurm_partition=partition)
    job = ex.submit(add, 1, 2)
    print("job id", job.job_id, flush=True)
    res = job.result()
    print("result", res, "state", job.state, flush=True)
    assert res == 3, res
    # what submitit reads back from sacct
    import time
    t0 = time.time()
    while job.get_info(mode="force").get("State") != "COMPLETED" and time.time() - t0 < 30:
        time.sleep(1)
    info = job.get_info(mode="force")
    print("sacct info", info, flush=True)
    assert info.get("State") == "COMPLETED", info


if __name__ == "__main__":
    main()
