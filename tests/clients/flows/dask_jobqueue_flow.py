"""dask-jobqueue: one SLURMCluster worker job computes sum(range(100))."""
import subprocess
import sys
import time

from dask_jobqueue import SLURMCluster
from distributed import Client


def main():
    partition, logdir = sys.argv[1], sys.argv[2]
    job_ids = []
    cluster = SLURMCluster(
        cores=1,
        memory="1GB",
        processes=1,
        walltime="00:05:00",
        queue=partition,
        log_directory=logdir,
        scheduler_options={"host": "127.0.0.1"},
    )
    print(cluster.job_script(), flush=True)
    try:
        cluster.scale(jobs=1)
        with Client(cluster) as client:
            client.wait_for_workers(1, timeout=180)
            fut = client.submit(sum, range(100))
            res = fut.result(timeout=60)
            print("result", res, flush=True)
            assert res == 4950, res
            import dask.array as da

            arr = da.arange(100, chunks=10).sum().compute()
            assert int(arr) == 4950, arr
            job_ids = [w.job_id for w in cluster.workers.values()]
            print("worker jobs", job_ids, flush=True)
    finally:
        cluster.close()
    # close() must have scancel'ed the worker job
    for jid in job_ids:
        t0 = time.time()
        while True:
            st = subprocess.run(["sacct", "-X", "-n", "-P", "-j", jid, "-o", "State"],
                                capture_output=True, text=True).stdout.strip()
            if st and not st.startswith(("RUNNING", "PENDING", "COMPLETING")):
                break
            assert time.time() - t0 < 30, f"worker job {jid} still {st!r} after close()"
            time.sleep(1)
        print("worker job", jid, "ended", st, flush=True)


if __name__ == "__main__":
    main()
