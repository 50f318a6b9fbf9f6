"""The compute ceiling of the `matmul` and `layers` suites: PyTorch's fp32 matmul at the suite's shapes, in
GFLOP/s (median of 5). On a CPU-only machine that is OpenBLAS sgemm (Debian's torch) with OpenBLAS's own
threads on every core: a lone matrix product has no torch threads to fight, so this is the machine's
practical ceiling (the end-to-end peer instead sets OPENBLAS_NUM_THREADS=1, machine-notes.md, where
torch's threads parallelise everything else). Where torch sees a GPU it is cuBLAS in fp32 with TF32 off
(peer_device.py). Usage: python3 bench/peers/torch_matmul.py '[["name", M, K, N], ...]'; prints one JSON list.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_device import read_job, start  # noqa: E402

torch, DEVICE, LABEL, sync = start(openblas_threads=os.cpu_count())
label = f"torch.matmul, {LABEL}" if DEVICE == "cuda" else f"torch.matmul (OpenBLAS sgemm, {os.cpu_count()} threads)"

out = []
for name, M, K, N in read_job():
    a, b = torch.randn(M, K), torch.randn(K, N)
    a @ b
    sync()
    # About 0.2 s of products per timing on a GPU (where one is microseconds), 3 GFLOP on a CPU.
    reps = max(1, int((1e13 if DEVICE == "cuda" else 3e9) / (2 * M * N * K)))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync()
        times.append((time.perf_counter() - t0) / reps)
    times.sort()
    out.append({"name": name, "value": 2 * M * N * K / times[2] / 1e9, "device": DEVICE, "label": label})
print(json.dumps(out))
