"""PyTorch peer of the `e2e` suite, timed as the suite times ours, on the same batches (passed in as JSON):
- DiffusionNER (bench/peers/diffusionner_torch.py, the same architecture and sizes): training sentences/s
  at B = 8 (forward, Hungarian matching, backward, clipping, AdamW), inference sentences/s per (γ, K_eval);
- BOPN (bench/peers/bopn_torch.py, the model of the parity fixture scripts/fixtures/make_bopn.py, here in
  float32 with our sizes and dropouts and the folded second branch): training sentences/s (forward,
  label-smoothed cross-entropy over the cells of real words, backward, clipping, AdamW; label grids built
  from the batch's entities by the fixture's rules) and inference sentences/s (scores, per-cell argmax
  and probability read back per sentence, as BOPN.infer) per eval batch;
- BINDER (bench/peers/binder_torch.py, the model of the parity fixture scripts/fixtures/make_binder.py, here
  in float32 with our sizes, dropouts, character CNNs and span fold, the type encoder reading the same
  description word ids): training sentences/s (forward, the mention and threshold losses with the config's
  weights and mask tiny, backward, clipping, AdamW with the encoder group's rate scaled as the trainer's) and
  inference sentences/s (span scores only, read back per sentence with the [CLS] thresholds, as
  Binder.infer) per eval batch;
and the peak memory of each case. On the CPU with the fair-peer settings of machine-notes.md
(OPENBLAS_NUM_THREADS=1 before importing torch, torch.set_num_threads(2)); CUDA eager where there is a GPU
(peer_device.py). Usage: python3 bench/peers/torch_e2e.py '<json>' (or `-` and the JSON on stdin); prints
one JSON list of results.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_device import peak_memory, read_job, start  # noqa: E402

torch, DEVICE, LABEL, sync = start(openblas_threads=1, torch_threads=2)
import binder_torch  # noqa: E402
import bopn_torch  # noqa: E402
from diffusionner_torch import DiffusionNER, predict, train_step  # noqa: E402

torch.manual_seed(0)
job = read_job()
results = []


def tensors(batch):
    B = len(batch["lengths"])
    M = max(batch["lengths"])
    ids = torch.zeros(B, M, dtype=torch.long)
    for b, row in enumerate(batch["ids"]):
        ids[b, :len(row)] = torch.tensor(row)
    out = {"ids": ids, "lengths": torch.tensor(batch["lengths"]), "gold": batch.get("gold"), "chars": None, "cmask": None}
    if batch.get("char_ids") is not None:
        out["chars"] = torch.tensor(batch["char_ids"]).reshape(B * M, -1)
        out["cmask"] = torch.tensor(batch["char_mask"], dtype=torch.float32).reshape(B * M, -1, 1)
    return out


def bopn_tensors(batch, M, S):
    """A BOPN batch: the encoder's tensors, grid feature ids, and the label grids and cell mask of its entities."""
    out = tensors(batch)
    lengths = batch["lengths"]
    out["lengths"] = lengths
    out["distance"], out["region"] = (t.to(out["ids"].device) for t in bopn_torch.grid_features(lengths, max(lengths)))
    labels, cell_mask = bopn_torch.label_targets(lengths, [[tuple(e) for e in es] for es in batch["entities"]], M, S)
    out["labels"] = torch.from_numpy(labels).to(out["ids"].device)
    out["cell_mask"] = torch.from_numpy(cell_mask).float().to(out["ids"].device)
    return out


def binder_tensors(batch, descriptions):
    """A BINDER batch: the encoder's tensors, the descriptions' (desc_*), and gold mentions (type, start, end inclusive)."""
    out = tensors(batch)
    out["lengths"] = batch["lengths"]
    out["gold"] = [[(t, s, e) for s, e, t in es] for es in batch["entities"]]
    d = tensors(descriptions)
    out.update(desc_ids=d["ids"], desc_lengths=descriptions["lengths"], desc_chars=d["chars"], desc_cmask=d["cmask"])
    return out


def timed(fn, reps):
    fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t0) / reps


def row(name, value, unit):
    results.append({"name": name, "value": value, "unit": unit, "device": DEVICE, "label": LABEL})


def diffusionner(case):
    model = DiffusionNER(**case["model"])
    batches = [tensors(b) for b in case["batches"]]
    B = len(case["batches"][0]["lengths"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    it = iter(range(10 ** 9))
    secs = timed(lambda: train_step(model, opt, batches[next(it) % len(batches)]), case["trainSteps"])
    row(f"{case['name']}: training B={B}", B / secs, "sentences/s")
    model.eval()
    for g, K in case["inference"]:
        secs = timed(lambda: predict(model, batches[0], steps=g, K=K), case["inferReps"])
        row(f"{case['name']}: inference B={B} gamma={g} K={K}", B / secs, "sentences/s")


def bopn(case):
    cfg = case["model"]
    model = bopn_torch.BOPN(**cfg)
    M, S = cfg["types"], cfg.get("window", 2)
    batches = [bopn_tensors(b, M, S) for b in case["batches"]]
    B = len(case["batches"][0]["lengths"])
    opt = torch.optim.AdamW(model.parameters(), lr=case["lr"], eps=1e-6, weight_decay=0)
    model.train()
    it = iter(range(10 ** 9))
    step = lambda: bopn_torch.train_step(model, opt, batches[next(it) % len(batches)], case["labelSmoothing"], case["maxGradNorm"])  # noqa: E731
    secs = timed(step, case["trainSteps"])
    row(f"{case['name']}: training B={B}", B / secs, "sentences/s")
    model.eval()
    for b in case["evalBatches"]:
        eb = bopn_tensors(b, M, S)
        n = len(b["lengths"])
        secs = timed(lambda: bopn_torch.infer(model, eb), case["inferReps"])
        row(f"{case['name']}: inference B={n}", n / secs, "sentences/s")


def binder(case):
    model = binder_torch.Binder(**case["model"])
    desc = case["descriptions"]
    batches = [binder_tensors(b, desc) for b in case["batches"]]
    B = len(case["batches"][0]["lengths"])
    # The trainer's two groups (Binder.parameterGroups): both encoders, their [CLS] vectors (and free type vectors) at lr × encoderLrScale.
    encoder = lambda n: n.split(".")[0] in ("word_embed", "char_cnn", "lstm", "type_encoder", "text_cls", "type_embeddings")  # noqa: E731
    named = list(model.named_parameters())
    groups = [{"params": [p for n, p in named if encoder(n)], "lr": case["lr"] * case["encoderLrScale"]}, {"params": [p for n, p in named if not encoder(n)]}]
    opt = torch.optim.AdamW(groups, lr=case["lr"], eps=1e-6, weight_decay=case["weightDecay"])
    model.train()
    it = iter(range(10 ** 9))
    step = lambda: binder_torch.train_step(model, opt, batches[next(it) % len(batches)], case["maskTiny"], case["maxGradNorm"], case["weights"], case["thresholdLoss"])  # noqa: E731
    secs = timed(step, case["trainSteps"])
    row(f"{case['name']}: training B={B}", B / secs, "sentences/s")
    model.eval()
    for b in case["evalBatches"]:
        eb = binder_tensors(b, desc)
        n = len(b["lengths"])
        secs = timed(lambda: binder_torch.infer_scores(model, eb), case["inferReps"])
        row(f"{case['name']}: inference B={n}", n / secs, "sentences/s")


CASES = {"bopn": bopn, "binder": binder}
for case in job["cases"]:
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()
    CASES.get(case.get("kind"), diffusionner)(case)
    memory, unit = peak_memory(torch, DEVICE)
    row(f"{case['name']}: peak memory", memory, unit)
print(json.dumps(results))
