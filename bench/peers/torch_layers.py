"""PyTorch peer for the `layers` suite: the attention core (softmax(q kᵀ/√d) v per head, no projections,
like the engine's op) and a one-layer LSTM (input projection included, like the engine's op), forward and
forward+backward, timed as medians. Prints one JSON list. On the CPU with the fair-peer settings of
machine-notes.md (OPENBLAS_NUM_THREADS=1 before importing torch, torch.set_num_threads(2), and OpenBLAS
as the BLAS: apt-get install libopenblas0-pthread; Debian's torch otherwise runs on the reference BLAS,
~17x slower); CUDA eager where there is a GPU (peer_device.py).
Usage: python3 bench/peers/torch_layers.py '<json list of cases>'
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_device import start  # noqa: E402

torch, DEVICE, LABEL, sync = start(openblas_threads=1, torch_threads=2)
torch.manual_seed(0)


def median_time(fn, min_time=0.5, min_iter=3):
    fn()
    sync()
    times, start_time = [], time.perf_counter()
    while len(times) < min_iter or time.perf_counter() - start_time < min_time:
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


if DEVICE == "cpu" and "BLAS_INFO=generic" in torch.__config__.show():
    sys.stderr.write("warning: torch runs on the reference BLAS; install libopenblas0-pthread for a fair peer\n")
results = []
for case in json.loads(sys.argv[1]):
    B, L, H, kind = case["B"], case["L"], case["H"], case["kind"]
    if kind == "attention":
        heads = case["heads"]
        dh = H // heads
        x = torch.randn(B, L, H, requires_grad=True)

        def fwd():
            q = x.view(B, L, heads, dh).transpose(1, 2)
            p = torch.softmax(q @ q.transpose(-1, -2) / dh ** 0.5, dim=-1)
            return (p @ q).transpose(1, 2).reshape(B, L, H)
    else:
        lstm = torch.nn.LSTM(H, H, batch_first=True)
        x = torch.randn(B, L, H, requires_grad=True)
        fwd = lambda: lstm(x)[0]

    def fwd_only():
        with torch.no_grad():
            fwd()

    def fwd_bwd():
        fwd().sum().backward()

    results.append({**case, "pass": "forward", "seconds": median_time(fwd_only), "device": DEVICE, "label": LABEL})
    results.append({**case, "pass": "forward+backward", "seconds": median_time(fwd_bwd), "device": DEVICE, "label": LABEL})
print(json.dumps(results))
