"""DiffusionNER in PyTorch with the project's architecture and parameter names, so the same weights load
in both: the scratch encoder (word embeddings, character CNN, BiLSTM, sinusoidal word positions) and the
span decoder of spec §1.5 (lrconcat or meanpool spans, 2 post-LN span layers with self- and cross-
attention, slot and time MLPs, ReLU boundary pointers, classifier), the diffusion training step (gold
repeated to K, q_sample, Hungarian matching with scipy, the losses of spec §1.6) and DDIM sampling.
It is the peer of the `e2e` benchmark and the oracle of test/fixtures/diffusionner-forward.safetensors and
diffusionner-grads.safetensors (whose script also runs it in float64, replacing `sinusoidal`).
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def sinusoidal(tau, dim):
    half = dim // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000) / (half - 1)))
    args = tau.float()[:, None] * freq[None]
    return torch.cat([args.sin(), args.cos()], -1)


class Mlp2(nn.Sequential):
    def __init__(self, i, h, o):
        super().__init__(nn.Linear(i, h), nn.GELU(), nn.Linear(h, o))


class CharCNN(nn.Module):
    def __init__(self, chars, dim, filters):
        super().__init__()
        self.embed = nn.Embedding(chars, dim)
        self.conv = nn.Linear(3 * dim, filters)

    def forward(self, ids, mask):
        # ids (W, L + 2) with -1 padding -> zero vectors; mask (W, L, 1) is 0 inside a word, -1e4 after.
        e = self.embed(ids.clamp(min=0)) * (ids >= 0).unsqueeze(-1).float()
        L = ids.shape[1] - 2
        windows = torch.cat([e[:, k:k + L] for k in range(3)], -1)
        return (self.conv(windows) + mask).max(1).values


class SpanLayer(nn.Module):
    def __init__(self, h, heads, ffn, p):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(h, heads, dropout=p, batch_first=True)
        self.norm1 = nn.LayerNorm(h)
        self.cross_attn = nn.MultiheadAttention(h, heads, dropout=p, batch_first=True)
        self.norm2 = nn.LayerNorm(h)
        self.linear1 = nn.Linear(h, ffn)
        self.linear2 = nn.Linear(ffn, h)
        self.norm3 = nn.LayerNorm(h)
        self.dropout = nn.Dropout(p)

    def forward(self, x, pos, words, pad):
        qk = x + pos
        x = self.norm1(x + self.dropout(self.self_attn(qk, qk, x, need_weights=False)[0]))
        x = self.norm2(x + self.dropout(self.cross_attn(x + pos, words, words, key_padding_mask=pad, need_weights=False)[0]))
        return self.norm3(x + self.dropout(self.linear2(self.dropout(F.relu(self.linear1(x))))))


class Pointer(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.word_proj = nn.Linear(h, h)
        self.span_proj = nn.Linear(h, h)
        self.weight = nn.Parameter(torch.empty(h).uniform_(-1 / math.sqrt(h), 1 / math.sqrt(h)))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, words, spans, mask):
        u, v = self.word_proj(words), self.span_proj(spans)
        z = F.relu(u[:, None, :, :] + v[:, :, None, :]) @ self.weight + self.bias
        return torch.sigmoid(z.masked_fill(mask[:, None, :] == 0, -1e25))


class Decoder(nn.Module):
    def __init__(self, h, types, heads=8, layers=2, ffn=1024, p=0.1, pooling="lrconcat"):
        super().__init__()
        self.h, self.pooling = h, pooling
        if pooling == "lrconcat":
            self.start_proj, self.end_proj, self.down_proj = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(2 * h, h)
        self.span_layers = nn.ModuleList([SpanLayer(h, heads, ffn, p) for _ in range(layers)])
        self.slot_embed = Mlp2(h, h, h)
        self.time_embed = Mlp2(h, h, h)
        self.left_pointer, self.right_pointer = Pointer(h), Pointer(h)
        self.classifier = Mlp2(h, h, types + 1)
        self.dropout = nn.Dropout(p)

    def forward(self, pairs, words, t, mask, lengths):
        B, K, _ = pairs.shape
        M, h = words.shape[1], self.h
        pos = torch.round(pairs * (lengths.float() - 1)[:, None, None])
        l, r = pos[..., 0], pos[..., 1]
        if self.pooling == "lrconcat":
            flat = words.reshape(B * M, h)
            off = (torch.arange(B) * M)[:, None]
            gather = lambda p: flat[(p.long() + off).reshape(-1)].reshape(B, K, h)  # noqa: E731
            s = self.dropout(self.start_proj(gather(l)))
            e = self.dropout(self.end_proj(gather(r)))
            spans = self.dropout(self.down_proj(torch.cat([s, e], -1)))
        else:
            idx = torch.arange(M, dtype=words.dtype)[None, None]
            inside = ((idx >= l[..., None]) & (idx <= r[..., None])).to(words.dtype)
            spans = self.dropout(inside @ words / (inside.sum(-1, keepdim=True) + 1e-30))
        slots = self.slot_embed(sinusoidal(torch.arange(K), h))[None].expand(B, K, h)
        x = spans
        pad = mask == 0
        for layer in self.span_layers:
            x = layer(x, slots, words, pad)
        x = x + self.time_embed(sinusoidal(t, h))[:, None]
        return self.classifier(x), self.left_pointer(words, x, mask), self.right_pointer(words, x, mask)


class Bert(nn.Module):
    """BERT's encoder (post-LN layers, exact GELU) for the BERT-sized benchmark configuration."""
    def __init__(self, vocab, hidden, layers, heads, intermediate, max_pos=512):
        super().__init__()
        self.word, self.pos, self.token_type = nn.Embedding(vocab, hidden), nn.Embedding(max_pos, hidden), nn.Embedding(2, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(hidden, heads, intermediate, 0.1, activation="gelu", batch_first=True, layer_norm_eps=1e-12)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, ids, mask):
        S = ids.shape[1]
        h = self.dropout(self.norm(self.word(ids) + self.pos(torch.arange(S))[None] + self.token_type(torch.zeros_like(ids))))
        return self.layers(h, src_key_padding_mask=mask == 0)


class DiffusionNER(nn.Module):
    def __init__(self, vocab, types, hidden=256, embedding=128, chars=0, char_embedding=0, char_filters=50, lstm_layers=2,
                 proposals=60, heads=8, ffn=1024, dropout=0.1, pooling="lrconcat", timesteps=1000, schedule="linear", position_features=None,
                 bert=None):
        super().__init__()
        # Word positions are added to the scratch encoder's BiLSTM output only, unless asked (as the TS model).
        self.position_features = (bert is None) if position_features is None else position_features
        self.K, self.T, self.hidden = proposals, timesteps, hidden
        # bert: dict(hidden, layers, heads, intermediate); words are single pieces at positions 1..M after
        # [CLS], with no closing [SEP] (the official input layout, spec 1.2).
        self.bert = Bert(vocab, bert["hidden"], bert["layers"], bert["heads"], bert["intermediate"]) if bert else None
        self.word_embed = None if bert else nn.Embedding(vocab, embedding)
        self.char_cnn = CharCNN(chars, char_embedding, char_filters) if char_embedding and not bert else None
        inp = bert["hidden"] if bert else embedding + (char_filters if char_embedding else 0)
        self.lstm = nn.LSTM(inp, hidden // 2, num_layers=lstm_layers, bidirectional=True, batch_first=True, dropout=dropout if lstm_layers > 1 else 0)
        self.decoder = Decoder(hidden, types, heads, 2, ffn, dropout, pooling)
        betas = linear_betas(timesteps) if schedule == "linear" else cosine_betas(timesteps)
        self.register_buffer("abar", torch.cumprod(1 - betas, 0).float(), persistent=False)

    def encode(self, ids, lengths, char_ids=None, char_mask=None):
        B, M = ids.shape
        if self.bert is not None:
            pieces = torch.cat([torch.full((B, 1), 2), ids], 1)
            pmask = (torch.arange(M + 1)[None] < (lengths + 1)[:, None]).float()
            x = self.bert(pieces, pmask)[:, 1:M + 1]
        else:
            x = self.word_embed(ids)
        if self.char_cnn is not None:
            x = torch.cat([x, self.char_cnn(char_ids, char_mask).reshape(B, M, -1)], -1)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = nn.utils.rnn.pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=M)
        if self.position_features:
            h = h + sinusoidal(torch.arange(M), self.hidden)[None]
        return h


def linear_betas(T):
    scale = 1000 / T
    return torch.linspace(scale * 0.0001, scale * 0.02, T, dtype=torch.float64)


def cosine_betas(T, s=0.008):
    x = torch.linspace(0, T, T + 1, dtype=torch.float64)
    ac = torch.cos(((x / T) + s) / (1 + s) * math.pi * 0.5) ** 2
    ac = ac / ac[0]
    return torch.clip(1 - (ac[1:] / ac[:-1]), 0, 0.999)


def x_to_pairs(x, scale=1.0):
    u = (x.clamp(-scale, scale) / scale + 1) / 2
    left, width = u[..., :1], u[..., 1:]
    return torch.cat([left, left + width], -1).clamp(0, 1)


def spans_to_x0(spans, length, K, scale=1.0):
    """Gold (left, right) inclusive word spans repeated to K rows -> x0 = ((l, r−l)/(M−1) · 2 − 1) · λ."""
    rows = [spans[i % len(spans)] for i in range(K)]
    d = max(length - 1, 1e-20)
    return torch.tensor([[(l / d) * 2 - 1, ((r - l) / d) * 2 - 1] for l, r in rows], dtype=torch.float32) * scale


def train_step(model, opt, batch):
    """One optimiser step: gold repeated to K, one t per sentence, q_sample, forward, matching, losses."""
    from scipy.optimize import linear_sum_assignment
    ids, lengths, chars, cmask, gold = batch["ids"], batch["lengths"], batch["chars"], batch["cmask"], batch["gold"]
    B, M = ids.shape
    K = model.K
    x0 = torch.stack([spans_to_x0([(g[0], g[1]) for g in gs], int(lengths[b]), K) for b, gs in enumerate(gold)])
    t = torch.randint(0, model.T, (B,))
    ab = model.abar[t][:, None, None]
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * torch.randn_like(x0)
    words = model.encode(ids, lengths, chars, cmask)
    mask = (torch.arange(M)[None] < lengths[:, None]).float()
    logits, pl, pr = model.decoder(x_to_pairs(xt), words, t, mask, lengths)
    with torch.no_grad():
        probs = logits.softmax(-1)
    cls_loss, bnd_loss = 0.0, 0.0
    for b, gs in enumerate(gold):
        G = len(gs)
        gl = torch.tensor([g[0] for g in gs]); gr = torch.tensor([g[1] for g in gs]); gt = torch.tensor([g[2] for g in gs])
        with torch.no_grad():
            cost = -(probs[b][:, gt] + pl[b][:, gl] + pr[b][:, gr])
        rows, cols = linear_sum_assignment(cost.cpu().numpy())
        target = torch.zeros(K, dtype=torch.long)
        target[torch.as_tensor(rows)] = gt[torch.as_tensor(cols)]
        weight = torch.ones(logits.shape[-1])
        weight[0] = min(1.0, G / max(K - G, 1))
        cls_loss = cls_loss + F.cross_entropy(logits[b], target, weight=weight)
        r_ = torch.as_tensor(rows)
        lt = F.one_hot(gl[torch.as_tensor(cols)], M).float(); rt = F.one_hot(gr[torch.as_tensor(cols)], M).float()
        bnd_loss = bnd_loss + F.binary_cross_entropy(pl[b][r_], lt) + F.binary_cross_entropy(pr[b][r_], rt)
    loss = (cls_loss + bnd_loss) / B
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return float(loss)


@torch.no_grad()
def predict(model, batch, steps=5, K=60, eta=1.0):
    """DDIM sampling (spec §1.4.5): the encoder once, the decoder γ times on K noisy spans."""
    ids, lengths, chars, cmask = batch["ids"], batch["lengths"], batch["chars"], batch["cmask"]
    B, M = ids.shape
    words = model.encode(ids, lengths, chars, cmask)
    mask = (torch.arange(M)[None] < lengths[:, None]).float()
    times = torch.linspace(-1, model.T - 1, steps + 1).int().tolist()[::-1]
    x = torch.randn(B, K, 2)
    out = None
    for t, tn in zip(times[:-1], times[1:]):
        logits, pl, pr = model.decoder(x_to_pairs(x), words, torch.full((B,), t), mask, lengths)
        d = (lengths.float() - 1 + 1e-20)[:, None]
        l, r = pl.argmax(-1).float(), pr.argmax(-1).float()
        x0 = (torch.stack([l / d, (r - l) / d], -1) * 2 - 1)
        ab, abn = model.abar[t], (model.abar[tn] if tn >= 0 else torch.tensor(1.0))
        eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
        sigma = eta * ((1 - ab / abn) * (1 - abn) / (1 - ab)).sqrt()
        c = (1 - abn - sigma ** 2).clamp(min=0).sqrt()
        x = abn.sqrt() * x0 + c * eps + sigma * torch.randn_like(x)
        out = (logits.softmax(-1), pl, pr)
    return out
