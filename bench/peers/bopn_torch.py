"""BOPN in PyTorch with the project's parameter names (src/models/bopn/model.ts), so the same weights load
in both. Written from the notes (heads-notes.md §1.1-1.2, diffusionner-spec.md §2.1-2.5), not from the
official code, with our label order (labels.ts offsetLabels: none, c:0, s:-S..s:S, e:-S..e:S without 0):
  scratch encoder: word embedding (word dropout to UNK while training) [+ character CNN] -> [prompts; words]
    -> Dropout (embedding_dropout) -> BiLSTM (dropout between layers), packed to M + n per sentence, padded
    outputs 0 (pad_packed_sequence) -> type states H^Y / word states H^X
  CLN grid: v_ij = Norm(h_i) * (gamma + W_gamma h_j) + beta + W_beta h_j, Norm without affine, eps 1e-12
  g_ij = [v_ij; dist_emb(distance id); region_emb(region id)] (ids as grid-features.ts, 0 for padding)
  biaffine: a = ReLU(W_a H^Y + b_a), c = ReLU(W_c g + b_c) (Dropout out_dropout before both), each with a 1
    appended, s1 = einsum(bmx, oxy, bijy -> bmijo) with U (L, A, A)
  second branch: u = Norm(h^Y_m) * (gamma' + W'_gamma g_ij) + beta' + W'_beta g_ij, s2 = Linear(H -> L)(u),
    either "unfolded" (u materialised as (B, M, n, n, H), the official form) or "folded" (the same linear
    map applied to g as one (n², G)·(G, M·L) product, as model.ts foldedBranch)
  optional 3-D conv over the (type, i, j) volume with the L scores as channels: Dropout3d, base = GELU(1x1x1
    conv), q1 = GELU(depthwise 3^3, dilation 1, padding 1)(base), q2 = GELU(depthwise 3^3, dilation 2,
    padding 2)(q1), s + Linear(2L -> L)([q1; q2]) (padded cells are inside the volume, as in the official code)
  loss: F.cross_entropy(label_smoothing) over every cell of real words (all types, both triangles), mean.
The label grids and grid feature ids are built here from the notes' rules (an independent implementation
of labels.ts and grid-features.ts).

It is the oracle of test/fixtures/bopn.safetensors (scripts/fixtures/make_bopn.py runs it in float64 with
every dropout 0, the unfolded branch, no character CNN) and the BOPN model of the `e2e` benchmark's
PyTorch peer (bench/peers/torch_e2e.py, float32, the folded branch as our default).
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from diffusionner_torch import CharCNN

NORM_EPS = 1e-12
DISTANCE_IDS, REGION_IDS = 20, 3


# ---- labels (notes §1.1 item 7, spec §2.1), in our label order --------------------------------------
def offset_labels(s):
    ws = list(range(-s, 0)) + list(range(1, s + 1))
    return ["none", "c:0"] + [f"s:{w}" for w in ws] + [f"e:{w}" for w in ws]


def label_grid(n, ents, M, S):
    """(M, n, n) label ids for entities (start, end inclusive, type): centres (mirrored), then per centre in
    (type, a, b) order, w = -1..-S, 1..S: s:w at (a + w, b) if 0 <= a + w <= b, e:w at (a, b + w) if
    a <= b + w < n, mirrored, unless the cell already holds a label at most |w| away (c:0 counts as 0)."""
    names = offset_labels(S)
    lid = {name: i for i, name in enumerate(names)}
    grid = np.zeros((M, n, n), dtype=np.int64)

    def off(label):
        return None if label == 0 else abs(int(names[label].split(":")[1]))

    for (a, b, y) in ents:
        grid[y, a, b] = grid[y, b, a] = lid["c:0"]
    ws = [-(k + 1) for k in range(S)] + [k + 1 for k in range(S)]
    for (y, a, b) in sorted(set((y, a, b) for (a, b, y) in ents)):
        for w in ws:
            for (i, j, name, ok) in ((a + w, b, f"s:{w}", 0 <= a + w <= b), (a, b + w, f"e:{w}", a <= b + w < n)):
                if not ok:
                    continue
                held = off(grid[y, i, j])
                if held is not None and held <= abs(w):
                    continue
                grid[y, i, j] = grid[y, j, i] = lid[name]
    return grid


def label_targets(lengths, entities, M, S):
    """Every cell's label (B, N, N, M) int64 in our (b, i, j, type) order, and 1.0 for the cells of real
    words (float64); entities[b] holds sentence b's (start, end inclusive, type)."""
    B, N = len(lengths), max(lengths)
    labels = np.zeros((B, N, N, M), dtype=np.int64)
    cell_mask = np.zeros((B, N, N, M), dtype=np.float64)
    for b, n in enumerate(lengths):
        labels[b, :n, :n, :] = label_grid(n, entities[b], M, S).transpose(1, 2, 0)
        cell_mask[b, :n, :n, :] = 1
    return labels, cell_mask


# ---- grid feature ids (grid-features.ts; spec §2.1) -------------------------------------------------
def bucket(d):
    for k, top in enumerate([1, 3, 7, 15, 31, 63, 127, 255]):
        if d <= top:
            return k + 1
    return 9


def distance_id(i, j):
    d = i - j
    if d == 0:
        return 19
    return bucket(d) if d > 0 else bucket(-d) + 9


def grid_features(lengths, N):
    """Distance and region ids (B, N, N), long, 0 for padding."""
    B = len(lengths)
    distance = np.zeros((B, N, N), dtype=np.int64)
    region = np.zeros((B, N, N), dtype=np.int64)
    for b, n in enumerate(lengths):
        for i in range(n):
            for j in range(n):
                distance[b, i, j] = distance_id(i, j)
                region[b, i, j] = 2 if i <= j else 1
    return torch.from_numpy(distance), torch.from_numpy(region)


# ---- the model --------------------------------------------------------------------------------------------
def norm(x):
    """Layer normalisation without an affine part over the last axis, eps 1e-12 (biased variance)."""
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + NORM_EPS)


class ConditionalLayerNorm(nn.Module):
    """gamma, beta and the bias-free maps W_gamma, W_beta (zero at the start, as the official init)."""
    def __init__(self, dim, cond):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))
        self.beta = nn.Parameter(torch.zeros(dim))
        self.gamma_map = nn.Linear(cond, dim, bias=False)
        self.beta_map = nn.Linear(cond, dim, bias=False)
        with torch.no_grad():
            self.gamma_map.weight.zero_()
            self.beta_map.weight.zero_()


class DepthwiseConv3d(nn.Module):
    """A depthwise 3³ convolution's weight (C, 1, 3, 3, 3) and bias, torch's Conv3d(groups = C) init."""
    def __init__(self, channels):
        super().__init__()
        bound = 1 / math.sqrt(27)
        self.weight = nn.Parameter(torch.empty(channels, 1, 3, 3, 3).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(channels).uniform_(-bound, bound))


class OffsetConv(nn.Module):
    def __init__(self, labels):
        super().__init__()
        self.base = nn.Linear(labels, labels)
        self.dw1, self.dw2 = DepthwiseConv3d(labels), DepthwiseConv3d(labels)
        self.out = nn.Linear(2 * labels, labels)


def relu_linear(i, o):
    """Kaiming-uniform for ReLU (U(±√(6 / fan_in))), bias 0 (layers.ts ReluLinear)."""
    lin = nn.Linear(i, o)
    with torch.no_grad():
        bound = math.sqrt(6 / i)
        lin.weight.uniform_(-bound, bound)
        lin.bias.zero_()
    return lin


class BOPN(nn.Module):
    """Sizes and defaults as src/models/bopn/config.ts (BOPN_DEFAULTS, BOPN_ENCODER_DEFAULTS). chars > 0 with
    char_embedding > 0 adds the character CNN (diffusionner_torch.CharCNN, our parameter names)."""
    def __init__(self, vocab, types, hidden=256, embedding=128, chars=0, char_embedding=0, char_filters=50, lstm_layers=1,
                 dropout=0.1, embedding_dropout=0.5, word_dropout=0.0, window=2, biaffine=150, grid_embedding=20,
                 out_dropout=0.33, conv=False, conv_dropout=0.2, second_branch="folded"):
        super().__init__()
        if second_branch not in ("folded", "unfolded"):
            raise ValueError(f"second_branch must be folded or unfolded, got {second_branch!r}")
        self.M, self.S, self.hidden = types, window, hidden
        self.L = 4 * window + 2
        self.word_dropout, self.embedding_dropout, self.out_dropout, self.conv_dropout = word_dropout, embedding_dropout, out_dropout, conv_dropout
        self.second_branch = second_branch
        H, L, A, G = hidden, self.L, biaffine + 1, hidden + 2 * grid_embedding
        self.word_embed = nn.Embedding(vocab, embedding)
        self.char_cnn = CharCNN(chars, char_embedding, char_filters) if char_embedding else None
        inp = embedding + (char_filters if char_embedding else 0)
        self.lstm = nn.LSTM(inp, H // 2, num_layers=lstm_layers, bidirectional=True, batch_first=True, dropout=dropout if lstm_layers > 1 else 0)
        self.prompts = nn.Parameter(torch.randn(types, inp))
        self.cln = ConditionalLayerNorm(H, H)
        self.distance_embed = nn.Embedding(DISTANCE_IDS, grid_embedding)
        self.region_embed = nn.Embedding(REGION_IDS, grid_embedding)
        self.type_mlp = relu_linear(H, biaffine)
        self.cell_mlp = relu_linear(G, biaffine)
        # Xavier-normal over (L, A, A): fan_in = A·A, fan_out = L·A, as torch reads a 3-D tensor.
        self.biaffine = nn.Parameter(torch.randn(L, A, A) * math.sqrt(2 / (A * A + L * A)))
        self.type_cln = ConditionalLayerNorm(H, G)
        self.type_out = nn.Linear(H, L)
        self.conv = OffsetConv(L) if conv else None

    def drop(self, x, p):
        return F.dropout(x, p, self.training) if self.training and p > 0 else x

    def encode(self, batch):
        """(type states (B, M, H), word states (B, N, H)) for batch ids (B, N), lengths, and chars / cmask
        (the character CNN's inputs as our CharCNN.indices makes them) when the model has a character CNN."""
        ids, lengths, M = batch["ids"], batch["lengths"], self.M
        B, N = ids.shape
        if self.training and self.word_dropout > 0:
            ids = ids.masked_fill((torch.rand(ids.shape) < self.word_dropout) & (ids > 0), 1)
        words = F.embedding(ids, self.word_embed.weight)  # (B, N, E)
        if self.char_cnn is not None:
            words = torch.cat([words, self.char_cnn(batch["chars"], batch["cmask"]).reshape(B, N, -1)], -1)
        x = torch.cat([self.prompts.unsqueeze(0).expand(B, M, words.shape[-1]), words], 1)  # (B, M + N, E)
        x = F.dropout(x, self.embedding_dropout, self.training)
        packed = pack_padded_sequence(x, torch.tensor([M + int(n) for n in lengths], device="cpu"), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(out, batch_first=True, total_length=M + N)  # (B, M + N, H), padding 0
        return h[:, :M], h[:, M:]

    def forward(self, batch):
        """Label scores (B, N, N, M, L), our layout; batch also holds distance and region ids (B, N, N)."""
        hy, hx = self.encode(batch)
        L = self.L

        # CLN grid: row i normalised, conditioned on column j.
        scale = self.cln.gamma + hx @ self.cln.gamma_map.weight.T  # (B, N, H) per column j
        shift = self.cln.beta + hx @ self.cln.beta_map.weight.T
        v = norm(hx)[:, :, None, :] * scale[:, None, :, :] + shift[:, None, :, :]  # (B, i, j, H)
        g = torch.cat([v, F.embedding(batch["distance"], self.distance_embed.weight), F.embedding(batch["region"], self.region_embed.weight)], -1)

        one = lambda t: torch.cat([t, torch.ones(*t.shape[:-1], 1, dtype=t.dtype, device=t.device)], -1)  # noqa: E731
        a = one(F.relu(F.linear(self.drop(hy, self.out_dropout), self.type_mlp.weight, self.type_mlp.bias)))  # (B, M, A)
        c = one(F.relu(F.linear(self.drop(g, self.out_dropout), self.cell_mlp.weight, self.cell_mlp.bias)))  # (B, N, N, A)
        s1 = torch.einsum("bmx,oxy,bijy->bmijo", a, self.biaffine, c)  # (B, M, N, N, L)

        tc, wd, bd = self.type_cln, self.type_out.weight, self.type_out.bias
        if self.second_branch == "unfolded":  # (B, M, N, N, H)
            gs = tc.gamma + g @ tc.gamma_map.weight.T  # (B, N, N, H)
            gb = tc.beta + g @ tc.beta_map.weight.T
            u = norm(hy)[:, :, None, None, :] * gs[:, None] + gb[:, None]
            s2 = F.linear(u, wd, bd)  # (B, M, N, N, L)
        else:  # s2[m, i, j] = C_m g_ij + c_m (model.ts foldedBranch)
            ny = norm(hy)  # (B, M, H)
            cm = (wd[None, None] * ny[:, :, None, :]) @ tc.gamma_map.weight + wd @ tc.beta_map.weight  # (B, M, L, G)
            cb = F.linear(ny * tc.gamma + tc.beta, wd, bd)  # (B, M, L)
            s2 = torch.einsum("bijg,bmlg->bmijl", g, cm) + cb[:, :, None, None, :]
        s = s1 + s2

        if self.conv is not None:
            cv = self.conv
            vol = s.permute(0, 4, 1, 2, 3)  # (B, L, M, N, N): channels over the (type, i, j) volume
            vol = F.dropout3d(vol, self.conv_dropout, self.training)
            base = F.gelu(F.conv3d(vol, cv.base.weight.view(L, L, 1, 1, 1), cv.base.bias))
            q1 = F.gelu(F.conv3d(base, cv.dw1.weight, cv.dw1.bias, padding=1, dilation=1, groups=L))
            q2 = F.gelu(F.conv3d(q1, cv.dw2.weight, cv.dw2.bias, padding=2, dilation=2, groups=L))
            both = torch.cat([q1, q2], 1).permute(0, 2, 3, 4, 1)  # (B, M, N, N, 2L)
            s = s + F.linear(both, cv.out.weight, cv.out.bias)

        return s.permute(0, 2, 3, 1, 4)  # ours: (B, N, N, M, L)


def loss(scores, labels, cell_mask, label_smoothing):
    """Label-smoothed cross-entropy, mean over the cells whose mask is 1 (labels and mask (B, N, N, M))."""
    keep = cell_mask.reshape(-1) > 0
    return F.cross_entropy(scores.reshape(-1, scores.shape[-1])[keep], labels.reshape(-1)[keep], label_smoothing=label_smoothing)


def train_step(model, opt, batch, label_smoothing=0.01, max_norm=1.0):
    """One optimiser step: forward, loss, backward, clipping, AdamW (the loss read back, as ours does)."""
    value = loss(model(batch), batch["labels"], batch["cell_mask"], label_smoothing)
    opt.zero_grad()
    value.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    opt.step()
    return float(value)


@torch.no_grad()
def infer(model, batch):
    """As BOPN.infer: per sentence, every cell's argmax label and its probability, (M, n, n) each, on the host."""
    prob, best = model(batch).softmax(-1).max(-1)  # (B, N, N, M)
    best, prob = best.cpu().numpy(), prob.cpu().numpy()
    return [(np.ascontiguousarray(best[b, :n, :n].transpose(2, 0, 1)), np.ascontiguousarray(prob[b, :n, :n].transpose(2, 0, 1)))
            for b, n in enumerate(batch["lengths"])]
