"""PyTorch peer of the `e2e` suite: the same DiffusionNER architecture and sizes
(bench/peers/diffusionner_torch.py), the same batches (passed in as JSON), timed the same way: training
sentences/s at B = 8 (forward, Hungarian matching, backward, clipping, AdamW), inference sentences/s per
(γ, K_eval), and peak memory. On the CPU with the fair-peer settings of machine-notes.md
(OPENBLAS_NUM_THREADS=1 before importing torch, torch.set_num_threads(2)); CUDA eager where there is a GPU
(peer_device.py). Usage: python3 bench/peers/torch_e2e.py '<json>'; prints one JSON list of results.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_device import peak_memory, start  # noqa: E402

torch, DEVICE, LABEL, sync = start(openblas_threads=1, torch_threads=2)
from diffusionner_torch import DiffusionNER, predict, train_step  # noqa: E402

torch.manual_seed(0)
job = json.loads(sys.argv[1])
results = []


def tensors(batch):
    B = len(batch["lengths"])
    M = max(batch["lengths"])
    ids = torch.zeros(B, M, dtype=torch.long)
    for b, row in enumerate(batch["ids"]):
        ids[b, :len(row)] = torch.tensor(row)
    out = {"ids": ids, "lengths": torch.tensor(batch["lengths"]), "gold": batch["gold"], "chars": None, "cmask": None}
    if batch.get("char_ids") is not None:
        out["chars"] = torch.tensor(batch["char_ids"]).reshape(B * M, -1)
        out["cmask"] = torch.tensor(batch["char_mask"], dtype=torch.float32).reshape(B * M, -1, 1)
    return out


def timed(fn, reps):
    fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t0) / reps


for case in job["cases"]:
    cfg = case["model"]
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()
    model = DiffusionNER(**cfg)
    batches = [tensors(b) for b in case["batches"]]
    B = len(case["batches"][0]["lengths"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    it = iter(range(10 ** 9))
    secs = timed(lambda: train_step(model, opt, batches[next(it) % len(batches)]), case["trainSteps"])
    results.append({"name": f"{case['name']}: training B={B}", "value": B / secs, "unit": "sentences/s", "device": DEVICE, "label": LABEL})
    model.eval()
    for g, K in case["inference"]:
        secs = timed(lambda: predict(model, batches[0], steps=g, K=K), case["inferReps"])
        results.append({"name": f"{case['name']}: inference B={B} gamma={g} K={K}", "value": B / secs, "unit": "sentences/s", "device": DEVICE, "label": LABEL})
    memory, unit = peak_memory(torch, DEVICE)
    results.append({"name": f"{case['name']}: peak memory", "value": memory, "unit": unit, "device": DEVICE, "label": LABEL})
print(json.dumps(results))
