"""The compute ceiling of the `matmul` suite on a CPU-only machine: PyTorch's fp32 matmul (OpenBLAS sgemm,
2 threads, as machine-notes.md sets up the fair peer) at the suite's shapes, in GFLOP/s (median).
Usage: /usr/bin/python3 bench/peers/torch_matmul.py '[["name", M, K, N], ...]'; prints one JSON list.
"""
import json
import os
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402

torch.set_num_threads(2)
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
