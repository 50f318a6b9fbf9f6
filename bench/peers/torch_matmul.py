"""The compute ceiling of the `matmul` suite on a CPU-only machine: PyTorch's fp32 matmul, which is
OpenBLAS sgemm on Debian's torch, with OpenBLAS's own threads on every core, at the suite's shapes, in
GFLOP/s (median). A lone matrix product has no torch threads to fight, so this is the machine's
practical ceiling; the end-to-end peer instead sets OPENBLAS_NUM_THREADS=1 (machine-notes.md), where
torch's threads parallelise everything else. Usage:
/usr/bin/python3 bench/peers/torch_matmul.py '[["name", M, K, N], ...]'; prints one JSON list.
"""
import json
import os
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = str(os.cpu_count())
import torch  # noqa: E402

out = []
for name, M, K, N in json.loads(sys.argv[1]):
    a, b = torch.randn(M, K), torch.randn(K, N)
    a @ b
    reps = max(1, int(3e9 / (2 * M * N * K)))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        times.append((time.perf_counter() - t0) / reps)
    times.sort()
    out.append({"name": name, "value": 2 * M * N * K / times[2] / 1e9})
print(json.dumps(out))
