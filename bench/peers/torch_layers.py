"""PyTorch CPU peer for the `layers` suite: multi-head attention and LSTM forward and forward+backward at
the suite's sizes, timed as medians. Prints one JSON list. Fair-peer settings per machine-notes.md:
OPENBLAS_NUM_THREADS=1 before importing torch, torch.set_num_threads(2).
Usage: python3 bench/peers/torch_layers.py '<json list of cases>'
"""
import json
import os
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(0)


def median_time(fn, min_time=0.5, min_iter=3):
    fn()
    times, start = [], time.perf_counter()
    while len(times) < min_iter or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


results = []
for case in json.loads(sys.argv[1]):
    B, L, H, kind = case["B"], case["L"], case["H"], case["kind"]
    if kind == "attention":
        heads = case["heads"]
        mha = torch.nn.MultiheadAttention(H, heads, batch_first=True)
        x = torch.randn(B, L, H, requires_grad=True)
        fwd = lambda: mha(x, x, x, need_weights=False)[0]
    else:
        lstm = torch.nn.LSTM(H, H, batch_first=True)
        x = torch.randn(B, L, H, requires_grad=True)
        fwd = lambda: lstm(x)[0]

    def fwd_only():
        with torch.no_grad():
            fwd()

    def fwd_bwd():
        fwd().sum().backward()

    results.append({**case, "pass": "forward", "seconds": median_time(fwd_only)})
    results.append({**case, "pass": "forward+backward", "seconds": median_time(fwd_bwd)})
print(json.dumps(results))
