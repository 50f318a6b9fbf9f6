"""PyTorch peer for the `layers` suite: the attention core (softmax(q kᵀ/√d) v per head, no projections,
like the engine's op) and a one-layer LSTM (input projection included, like the engine's op); BOPN's
depthwise 3-D convolution (F.conv3d with groups = C, padding = dilation) and the cross-entropy
(F.cross_entropy with label_smoothing, masked rows as ignore_index, and BINDER's log(mask + 1e-13) added
to the logits), on the suite's targets and masks. Forward and forward+backward (the gradient of the sum),
timed as medians. Prints one JSON list. On the CPU with the fair-peer settings of
machine-notes.md (OPENBLAS_NUM_THREADS=1 before importing torch, torch.set_num_threads(2), and OpenBLAS
as the BLAS: apt-get install libopenblas0-pthread; Debian's torch otherwise runs on the reference BLAS,
~17x slower); CUDA eager where there is a GPU (peer_device.py).
Usage: python3 bench/peers/torch_layers.py '<json list of cases>' (or `-` and the JSON on stdin)
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_device import read_job, start  # noqa: E402

torch, DEVICE, LABEL, sync = start(openblas_threads=1, torch_threads=2)
F = torch.nn.functional
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
for case in read_job():
    kind = case["kind"]
    if kind in ("attention", "lstm"):
        B, L, H = case["B"], case["L"], case["H"]
        x = torch.randn(B, L, H, requires_grad=True)
        if kind == "attention":
            heads = case["heads"]
            dh = H // heads

            def fwd():
                q = x.view(B, L, heads, dh).transpose(1, 2)
                p = torch.softmax(q @ q.transpose(-1, -2) / dh ** 0.5, dim=-1)
                return (p @ q).transpose(1, 2).reshape(B, L, H)
        else:
            lstm = torch.nn.LSTM(H, H, batch_first=True)
            fwd = lambda: lstm(x)[0]  # noqa: E731
    elif kind == "conv3d":
        C, d = case["shape"][1], case["dilation"]
        x = torch.randn(*case["shape"], requires_grad=True)
        w = (0.2 * torch.randn(C, 1, 3, 3, 3)).requires_grad_(True)
        bias = (0.1 * torch.randn(C)).requires_grad_(True)
        fwd = lambda: F.conv3d(x, w, bias, padding=d, dilation=d, groups=C)  # noqa: E731
    elif kind == "cross_entropy":
        N, C = case["N"], case["C"]
        x = (2 * torch.randn(N, C)).requires_grad_(True)
        target = torch.tensor(case["target"], dtype=torch.long)
        if case.get("rows"):
            target = torch.where(torch.tensor(case["rows"]) > 0, target, torch.full_like(target, -100))
        add = torch.log(torch.tensor(case["valid"]).expand(N, C) + 1e-13) if case.get("valid") else None
        eps = case["labelSmoothing"]
        fwd = lambda: F.cross_entropy(x + add if add is not None else x, target, ignore_index=-100, label_smoothing=eps)  # noqa: E731
    else:
        raise ValueError(f"unknown case kind {kind!r}")

    def fwd_only():
        with torch.no_grad():
            fwd()

    def fwd_bwd():
        fwd().sum().backward()

    row = {"name": case["name"], "kind": kind, "device": DEVICE, "label": LABEL}
    results.append({**row, "pass": "forward", "seconds": median_time(fwd_only)})
    results.append({**row, "pass": "forward+backward", "seconds": median_time(fwd_bwd)})
print(json.dumps(results))
