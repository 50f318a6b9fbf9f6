"""BINDER in PyTorch with the project's parameter names (src/models/binder/model.ts), so the same weights
load in both. Written from the notes (heads-notes.md §2.1, §2.3, §2.4, §2.7; diffusionner-spec.md §3.2-3.4),
not from the official code, at word level as ours (scratch encoders, a learnt [CLS] vector at position 0):
  text encoder: word embedding (word dropout to UNK while training) [+ character CNN] -> [CLS; words]
    -> Dropout (embedding_dropout) -> BiLSTM (dropout between layers), packed to 1 + n per sentence, padded
    outputs 0 (pad_packed_sequence) [+ sinusoidal positions 0..N-1 on the word rows, 0 on the [CLS]]
    -> h (B, n', H), n' = 1 + N
  type encoder: a second encoder of the same structure (type_encoder.*, its own [CLS] type_encoder.cls,
    optionally reading the text's word table) over [CLS] + each description's words; t_k = its output
    at position 0, (M, H); or free vectors type_embeddings (M, H) (the 'embeddings' ablation)
  projections: five Linear(H -> d) (type_start/end/span_linear on t, start/end_linear on h), each
    -> Dropout (linear_dropout) -> F.normalize (x / max(|x|, 1e-12))
  span vectors: span_linear(cat[h_i; h_j; W(w_ij)]) over every cell of the (n', n') grid, the official
    concatenated form (B, n', n', 2H + d) (span_fold 'concat', the default), or its exact fold
    A·h_i + B·h_j + (C·W)[w_ij] + b by broadcasting ('folded', ours's default; span_linear.weight = [A | B | C]),
    w_ij = min(j - i + 1, span_widths) for j >= i and 0 (the padding row of an Embedding(span_widths + 1, d,
    padding_idx=0)) for j < i -> Dropout -> F.normalize
  scores: e^θ · cosine: start/end (B, M, n'), span (B, M, n'·n') with cell (i, j) at i·n' + j (our layout);
    θ = min(θ, ln 100) with clamp_temperature
  losses: log(mask + tiny) added to the scores, log-softmax. Negatives of (sentence b, type k): every real
    word (start, end) / every span i <= j of real words (span), less the gold ones of type k, plus the
    [CLS] position 0 / cell (0, 0). Threshold loss: mean over the (b, k) rows of -log softmax at the [CLS]
    among {CLS} ∪ negatives. Mention loss: mean over the gold mentions of -log softmax at the gold position
    among {gold} ∪ negatives(b, k). Each 0.2 start + 0.2 end + 0.6 span; total 0.5 mention + 0.5 threshold.
  read-out: span (i <= j real words, at most max_span_width words) of type k kept when
    span[k, i, j] > span[k, 0, 0]; flat: greedy by (-score, start, end, type), no shared word.
The masks are built here from the notes' rules (an independent implementation of model.ts lossTargets), on
the host, and moved to the scores' device.

It is the oracle of test/fixtures/binder.safetensors (scripts/fixtures/make_binder.py runs it in float64
with every dropout 0, no character CNN, the concatenated span projection) and the e2e benchmark's BINDER
peer (bench/peers/torch_e2e.py: float32, the config's sizes, dropouts and span fold; infer_scores as
Binder.infer).
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from diffusionner_torch import CharCNN

INIT_TEMPERATURE = 0.07
MAX_LOGIT_SCALE = math.log(100)
NORM_EPS = 1e-12
UNK = 1
LOSS_WEIGHTS = dict(mention=0.5, threshold=0.5, start=0.2, end=0.2, span=0.6)


def sinusoid_frequencies(dim):
    """As src/nn/sinusoid.ts sinusoidalFrequencies: f32 values of exp(f32(-f32(ln 10000 / (half - 1)) · k))."""
    half = dim // 2
    c = float(np.float32(math.log(10000) / (half - 1)))
    return np.array([np.float32(math.exp(float(np.float32(-c * k)))) for k in range(half)], dtype=np.float32)


def sinusoidal(n, dim, dtype, device="cpu"):
    """Positions 0..n-1 -> (n, dim): all sines, then all cosines, in `dtype`."""
    freq = torch.from_numpy(sinusoid_frequencies(dim)).to(device=device, dtype=dtype)
    args = torch.arange(n, device=device, dtype=dtype)[:, None] * freq[None]
    return torch.cat([args.sin(), args.cos()], -1)


def width_ids(n1, span_widths, device="cpu"):
    """(n', n') long: cell (i, j) of the grid (the [CLS] at 0) reads width row min(j - i + 1, span_widths), 0 where j < i."""
    i = torch.arange(n1, device=device)[:, None]
    j = torch.arange(n1, device=device)[None, :]
    return torch.where(j >= i, (j - i + 1).clamp(max=span_widths), torch.zeros_like(i * j))


class TypeEncoder(nn.Module):
    """The type encoder's own pieces: word_embed (absent when tied), char_cnn, lstm and its [CLS] vector."""
    def __init__(self, vocab, hidden, embedding, inp, chars, char_embedding, char_filters, lstm_layers, dropout, tied):
        super().__init__()
        self.word_embed = None if tied else nn.Embedding(vocab, embedding)
        self.char_cnn = CharCNN(chars, char_embedding, char_filters) if char_embedding else None
        self.lstm = nn.LSTM(inp, hidden // 2, num_layers=lstm_layers, bidirectional=True, batch_first=True, dropout=dropout if lstm_layers > 1 else 0)
        self.cls = nn.Parameter(torch.randn(1, inp))


class Binder(nn.Module):
    """Sizes and defaults as src/models/binder/config.ts (BINDER_DEFAULTS) and the shared encoder's
    (ENCODER_DEFAULTS). chars > 0 with char_embedding > 0 adds the character CNNs. Batches are dicts:
    ids (B, N) long (0 padding), lengths, and with a character CNN chars / cmask (our CharCNN.indices);
    descriptions likewise (desc_ids, desc_lengths, desc_chars, desc_cmask) unless type_inputs is 'embeddings'."""
    def __init__(self, vocab, types, hidden=256, embedding=None, chars=0, char_embedding=0, char_filters=50, lstm_layers=2,
                 dropout=0.1, embedding_dropout=0.0, word_dropout=0.0, position_features=True, linear_size=128,
                 linear_dropout=0.1, span_widths=256, max_span_width=30, type_inputs="descriptions", tied_embeddings=False,
                 clamp_temperature=False, span_fold="concat"):
        super().__init__()
        if type_inputs not in ("descriptions", "embeddings"):
            raise ValueError(f"type_inputs must be descriptions or embeddings, got {type_inputs!r}")
        if span_fold not in ("concat", "folded"):
            raise ValueError(f"span_fold must be concat or folded, got {span_fold!r}")
        self.span_fold = span_fold
        embedding = hidden if embedding is None else embedding
        H, d = hidden, linear_size
        self.M, self.hidden, self.d = types, H, d
        self.dropout, self.embedding_dropout, self.word_dropout, self.linear_dropout = dropout, embedding_dropout, word_dropout, linear_dropout
        self.position_features, self.span_widths, self.max_span_width = position_features, span_widths, max_span_width
        self.clamp_temperature = clamp_temperature
        inp = embedding + (char_filters if char_embedding else 0)
        # The text encoder, at the root (word_embed.*, char_cnn.*, lstm.*), and its [CLS].
        self.word_embed = nn.Embedding(vocab, embedding)
        self.char_cnn = CharCNN(chars, char_embedding, char_filters) if char_embedding else None
        self.lstm = nn.LSTM(inp, H // 2, num_layers=lstm_layers, bidirectional=True, batch_first=True, dropout=dropout if lstm_layers > 1 else 0)
        self.text_cls = nn.Parameter(torch.randn(1, inp))
        if type_inputs == "descriptions":
            self.type_encoder = TypeEncoder(vocab, H, embedding, inp, chars, char_embedding, char_filters, lstm_layers, dropout, tied_embeddings)
            self.type_embeddings = None
        else:
            self.type_encoder = None
            self.type_embeddings = nn.Parameter(torch.randn(types, H))
        # The head: N(0, 0.02), bias 0 (the official _init_weights).
        self.type_start_linear, self.type_end_linear, self.type_span_linear = (nn.Linear(H, d) for _ in range(3))
        self.start_linear, self.end_linear = nn.Linear(H, d), nn.Linear(H, d)
        self.span_linear = nn.Linear(2 * H + d, d)
        self.width_embeddings = nn.Embedding(span_widths + 1, d, padding_idx=0)
        for m in (self.type_start_linear, self.type_end_linear, self.type_span_linear, self.start_linear, self.end_linear, self.span_linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        with torch.no_grad():
            self.width_embeddings.weight.normal_(std=0.02)
            self.width_embeddings.weight[0].zero_()
        theta = math.log(1 / INIT_TEMPERATURE)
        self.start_logit_scale = nn.Parameter(torch.tensor(theta))
        self.end_logit_scale = nn.Parameter(torch.tensor(theta))
        self.span_logit_scale = nn.Parameter(torch.tensor(theta))

    def drop(self, x, p):
        return F.dropout(x, p, self.training) if self.training and p > 0 else x

    def encode(self, word_embed, char_cnn, lstm, cls, ids, lengths, chars=None, cmask=None):
        """[CLS; words] -> (B, 1 + N, H), position 0 the [CLS]."""
        B, N = ids.shape
        if self.training and self.word_dropout > 0:
            ids = ids.masked_fill((torch.rand(ids.shape, device=ids.device) < self.word_dropout) & (ids > 0), UNK)
        x = word_embed(ids)  # (B, N, E)
        if char_cnn is not None:
            # diffusionner_torch.CharCNN's forward with ours's dropout on the character vectors.
            e = char_cnn.embed(chars.clamp(min=0)) * (chars >= 0).unsqueeze(-1).to(x.dtype)
            e = self.drop(e, self.dropout)
            L = chars.shape[1] - 2
            windows = torch.cat([e[:, k:k + L] for k in range(3)], -1)
            x = torch.cat([x, (char_cnn.conv(windows) + cmask).max(1).values.reshape(B, N, -1)], -1)
        x = torch.cat([cls.unsqueeze(0).expand(B, 1, x.shape[-1]), x], 1)  # (B, 1 + N, width)
        x = self.drop(x, self.embedding_dropout)
        packed = pack_padded_sequence(x, torch.tensor([1 + int(n) for n in lengths], device="cpu"), batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=1 + N)
        if self.position_features:
            pos = sinusoidal(N, self.hidden, h.dtype, h.device)
            h = h + torch.cat([torch.zeros(1, self.hidden, dtype=h.dtype, device=h.device), pos], 0)[None]
        return h

    def type_vectors(self, batch):
        """t (M, H): each description's [CLS] output, or the free type vectors."""
        if self.type_encoder is None:
            return self.type_embeddings
        te = self.type_encoder
        h = self.encode(te.word_embed if te.word_embed is not None else self.word_embed, te.char_cnn, te.lstm, te.cls,
                        batch["desc_ids"], batch["desc_lengths"], batch.get("desc_chars"), batch.get("desc_cmask"))
        return h[:, 0]

    def project(self, linear, x):
        return F.normalize(self.drop(linear(x), self.linear_dropout), dim=-1, eps=NORM_EPS)

    def scale(self, theta):
        return torch.exp(theta.clamp(max=MAX_LOGIT_SCALE) if self.clamp_temperature else theta)

    def span_vectors(self, h):
        """Linear(cat[h_i; h_j; W(w_ij)]) for every cell, (B, n', n', d): the official concatenation, or folded."""
        B, n1, H = h.shape
        widths = width_ids(n1, self.span_widths, h.device)
        if self.span_fold == "folded":
            # As model.ts spanVectors: A·h_i + B·h_j + (C·W)[w_ij] + b, the table's row 0 held at zero (no gradient).
            a, b_, c = self.span_linear.weight.split([H, H, self.d], 1)
            table = torch.cat([self.width_embeddings.weight.new_zeros(1, self.d), self.width_embeddings.weight[1:]], 0)
            u, v = F.linear(h, a), F.linear(h, b_, self.span_linear.bias)  # (B, n', d) each
            return u[:, :, None] + v[:, None] + F.linear(table, c)[widths][None]
        w = self.width_embeddings(widths)  # (n', n', d)
        cells = torch.cat([h[:, :, None].expand(B, n1, n1, H), h[:, None, :].expand(B, n1, n1, H), w[None].expand(B, n1, n1, self.d)], -1)
        return self.span_linear(cells)

    def forward(self, batch, boundaries=True):
        """Scores in our layout: start, end (B, M, n') (None unless boundaries), span (B, M, n'·n')."""
        h = self.encode(self.word_embed, self.char_cnn, self.lstm, self.text_cls, batch["ids"], batch["lengths"], batch.get("chars"), batch.get("cmask"))
        B, n1, _ = h.shape
        t = self.type_vectors(batch)

        def typed(type_linear, x, theta):  # x (B, P, d) normalised -> (B, M, P)
            return self.scale(theta) * torch.einsum("bpd,kd->bkp", x, self.project(type_linear, t))

        spans = F.normalize(self.drop(self.span_vectors(h), self.linear_dropout), dim=-1, eps=NORM_EPS).reshape(B, n1 * n1, self.d)
        return {
            "start": typed(self.type_start_linear, self.project(self.start_linear, h), self.start_logit_scale) if boundaries else None,
            "end": typed(self.type_end_linear, self.project(self.end_linear, h), self.end_logit_scale) if boundaries else None,
            "span": typed(self.type_span_linear, spans, self.span_logit_scale),
        }


# ---- losses (notes §2.3, spec §3.3) ------------------------------------------------------------------------
def negative_masks(lengths, gold, M, n1, dtype=torch.float64):
    """Per (b, k) the negatives, 1 = in the softmax: start, end (B, M, n'), span (B, M, n', n').
    gold[b]: sentence b's mentions (type, start, end inclusive), word indices from 0. On the host."""
    B = len(lengths)
    cpu = dict(dtype=dtype, device="cpu")
    start, end, span = torch.zeros(B, M, n1, **cpu), torch.zeros(B, M, n1, **cpu), torch.zeros(B, M, n1, n1, **cpu)
    for b, n in enumerate(lengths):
        start[b, :, 1:n + 1] = 1
        end[b, :, 1:n + 1] = 1
        span[b, :, 1:n + 1, 1:n + 1] = torch.ones(n, n, **cpu).triu()
        for (k, s, e) in gold[b]:
            start[b, k, s + 1] = 0
            end[b, k, e + 1] = 0
            span[b, k, s + 1, e + 1] = 0
    start[:, :, 0] = 1
    end[:, :, 0] = 1
    span[:, :, 0, 0] = 1
    return start, end, span


def masked_nll(scores, mask, target, tiny):
    """-log softmax(scores + log(mask + tiny))[target] per row: scores, mask (R, C), target (R) long (moved to the scores' device)."""
    logp = F.log_softmax(scores + torch.log(mask.to(scores.device) + tiny), -1)
    return -logp.gather(1, target.to(scores.device)[:, None])[:, 0]


def losses(scores, lengths, gold, tiny=1e-13, weights=None, threshold_loss=True):
    """The loss terms (each unweighted) and the total: mention, threshold and their start/end/span parts."""
    w = {**LOSS_WEIGHTS, **(weights or {})}
    B, M, n1 = scores["start"].shape
    dtype = scores["start"].dtype
    neg = dict(zip(("start", "end", "span"), negative_masks(lengths, gold, M, n1, dtype)))
    neg["span"] = neg["span"].reshape(B, M, n1 * n1)
    terms = {}
    for part in ("start", "end", "span"):
        x, m = scores[part].reshape(B * M, -1), neg[part].reshape(B * M, -1)
        terms["threshold" + part.capitalize()] = masked_nll(x, m, torch.zeros(B * M, dtype=torch.long, device="cpu"), tiny).mean()
    mentions = [(b, k, s, e) for b in range(B) for (k, s, e) in gold[b]]
    for part in ("start", "end", "span"):
        if not mentions:
            terms["mention" + part.capitalize()] = scores[part].new_zeros(())
            continue
        rows, masks, targets = [], [], []
        for (b, k, s, e) in mentions:
            at = {"start": s + 1, "end": e + 1, "span": (s + 1) * n1 + e + 1}[part]
            m = neg[part][b, k].clone()
            m[at] = 1
            rows.append(scores[part][b, k])
            masks.append(m)
            targets.append(at)
        terms["mention" + part.capitalize()] = masked_nll(torch.stack(rows), torch.stack(masks), torch.tensor(targets, device="cpu"), tiny).mean()
    for kind in ("mention", "threshold"):
        terms[kind] = sum(w[p] * terms[kind + p.capitalize()] for p in ("start", "end", "span"))
    total = w["mention"] * terms["mention"] + (w["threshold"] * terms["threshold"] if threshold_loss else 0)
    return terms, total


def train_step(model, opt, batch, tiny=1e-13, max_norm=1.0, weights=None, threshold_loss=True):
    """One optimiser step: forward, loss, backward, clipping, AdamW (the loss read back, as ours does)."""
    _, value = losses(model(batch), batch["lengths"], batch["gold"], tiny, weights, threshold_loss)
    opt.zero_grad()
    value.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    opt.step()
    return float(value)


# ---- read-out (notes §2.4, spec §3.4) ----------------------------------------------------------------------
def kept_spans(span, lengths, max_span_width):
    """span (B, M, n'·n') -> per sentence every (start, end inclusive, type, score) with start <= end real words,
    at most max_span_width words, and span[k, i, j] > span[k, 0, 0]."""
    B, M, cells = span.shape
    n1 = int(round(math.sqrt(cells)))
    g = span.detach().reshape(B, M, n1, n1).cpu().numpy()
    out = []
    for b, n in enumerate(lengths):
        out.append([(i, j, k, float(g[b, k, i + 1, j + 1])) for k in range(M) for i in range(n) for j in range(i, min(n, i + max_span_width))
                    if g[b, k, i + 1, j + 1] > g[b, k, 0, 0]])
    return out


def flat_greedy(spans):
    """By (-score, start, end, type), each span kept unless it shares a word with one kept before."""
    kept = []
    for c in sorted(spans, key=lambda x: (-x[3], x[0], x[1], x[2])):
        if all(c[1] < k[0] or k[1] < c[0] for k in kept):
            kept.append(c)
    return sorted(kept, key=lambda x: (x[0], x[1], x[2]))


@torch.no_grad()
def infer_scores(model, batch):
    """As Binder.infer: the span scores only (no start or end), read back; per sentence its (M, n, n) span
    scores over its words and the M [CLS] cell scores (the thresholds), on the host."""
    span = model(batch, boundaries=False)["span"]
    B, M, cells = span.shape
    n1 = int(round(math.sqrt(cells)))
    g = span.reshape(B, M, n1, n1).cpu().numpy()
    return [(np.ascontiguousarray(g[b, :, 1:n + 1, 1:n + 1]), g[b, :, 0, 0].copy()) for b, n in enumerate(batch["lengths"])]


@torch.no_grad()
def infer(model, batch, mode="nested"):
    """Per sentence the entities (start, end inclusive, type, span score), nested or flat."""
    spans = kept_spans(model(batch)["span"], batch["lengths"], model.max_span_width)
    return spans if mode == "nested" else [flat_greedy(s) for s in spans]
