/**
 * Attention and LSTM at B = 8, L = 32, hidden 256 and 1024, and DiffusionNER's boundary pointer at
 * B = 8, K = 60, M = 30, H = 256: the fused kernels against the op-by-op composition of engine ops, and
 * PyTorch CPU (Debian's python3-torch) for attention and LSTM at the same sizes when installed.
 * BOPN's kernels, ours against PyTorch (no op-by-op composition exists): the depthwise 3-D convolution
 * (T.depthwiseConv3d; torch's Conv3d(groups = C)) at GENIA's (B 8, L 10 labels, M 5 types, n 100, n 100)
 * with dilation 1 and 2 and a CoNLL-sized (16, 10, 4, 40, 40), and the fused cross-entropy (T.crossEntropy;
 * F.cross_entropy) over BOPN's cells (16·40·40·4 = 102,400 rows, 10 labels, label smoothing 0.01, a row
 * mask as ignore_index) and a BINDER-like case (rows of (sentence, type) over 41² spans with a logit mask,
 * log(mask + 1e-13) added as BINDER does). Forward and forward+backward (the gradient of the sum).
 * Each fused kernel is also given in GFLOP/s (the arithmetic of the products it replaces, counted by
 * `flops` below) and as a fraction of the compute ceiling measured in the same run (torch.matmul 1024³,
 * OpenBLAS on every core, bench/peers/torch_matmul.py).
 */
import * as T from '../../src/index.js';
import { type PeerRow, runPeer, type SuiteContext, timeIt } from '../common.js';

const B = 8, L = 32;
const CASES = [
  { kind: 'attention', H: 256, heads: 8 },
  { kind: 'attention', H: 1024, heads: 16 },
  { kind: 'lstm', H: 256 },
  { kind: 'lstm', H: 1024 },
];

/**
 * Multiply-add arithmetic (2 flops each) of a fused kernel. Attention: QKᵀ and PV forward; the backward
 * recomputes QKᵀ and forms dO·Vᵀ, dS·K, dSᵀ·Q and Pᵀ·dO. LSTM (input size = hidden): the input and
 * recurrent products of the four gates; the backward counted as twice the forward. Pointer: one
 * multiply-add per (span, word, unit) forward, twice that backward. Depthwise conv3d (H: the elements of
 * each sample's volume, C·D1·D2·D3): 27 multiply-adds per element forward; dx and dw as many again each.
 */
function flops(kind: 'attention' | 'lstm' | 'pointer' | 'conv3d', pass: 'forward' | 'forward+backward', dims: { B: number; L?: number; H: number; K?: number; M?: number }): number {
  const { B, H } = dims;
  const fwd = kind === 'attention' ? 4 * B * dims.L! * dims.L! * H
    : kind === 'lstm' ? 16 * B * dims.L! * H * H
    : kind === 'conv3d' ? 2 * 27 * B * H
    : 2 * B * dims.K! * dims.M! * H;
  const backward = kind === 'attention' ? 2.5 : 2;
  return pass === 'forward' ? fwd : fwd * (1 + backward);
}

/** Records a fused kernel's rate and its fraction of the compute ceiling (when measured). */
function recordRate(ctx: SuiteContext, name: string, ms: number, flop: number, ceiling: number | null): void {
  const gflops = flop / (ms / 1e3) / 1e9;
  ctx.record({ name, variant: 'fused kernel', device: 'webgpu', value: gflops, unit: 'GFLOP/s' });
  if (ceiling) ctx.record({ name, variant: 'fused kernel / ceiling', device: 'webgpu', value: gflops / ceiling, unit: 'x' });
}

/** torch.matmul at 1024³, the compute ceiling as the matmul suite measures it: OpenBLAS on every core beside a software adapter, cuBLAS fp32 beside a GPU. */
function computeCeiling(ctx: SuiteContext, software: boolean): number | null {
  const r = runPeer<(PeerRow & { value: number })[]>('torch_matmul.py', [['1024^3', 1024, 1024, 1024]], 'compute ceiling');
  if (!r) return null;
  const [{ device, label, value }] = r;
  if (device === 'cpu' && !software) { console.warn('compute ceiling skipped: torch sees no GPU here'); return null; }
  ctx.record({ name: 'ceiling 1024^3', variant: label, device, adapter: device, value, unit: 'GFLOP/s' });
  return value;
}

export async function run(ctx: SuiteContext): Promise<void> {
  const dev = (await T.getDevice('webgpu')) as T.GpuDevice;
  const ceiling = computeCeiling(ctx, dev.backend.report.isSoftware);
  const lengths = Array(B).fill(L);
  for (const c of CASES) {
    const name = `${c.kind} B=${B} L=${L} hidden=${c.H}`;
    T.manualSeed(1);
    const x = T.keep(T.randn([B, L, c.H], { device: dev, requiresGrad: true }));
    const w = c.kind === 'lstm'
      ? ['wih', 'whh', 'bih', 'bhh'].map((_, i) => T.keep(T.randn(i < 2 ? [4 * c.H, c.H] : [4 * c.H], { device: dev, std: 0.05, requiresGrad: true })))
      : [];
    const forward = (fused: boolean) => {
      if (c.kind === 'attention') return (fused ? T.attention : T.attentionUnfused)(x, x, x, { heads: c.heads! });
      const lw = { wih: w[0], whh: w[1], bih: w[2], bhh: w[3] };
      return (fused ? T.lstmLayer : T.lstmLayerUnfused)(x, lw, lengths);
    };
    // Several calls per synchronisation, so the ~1 ms wait does not hide the kernels' own cost.
    const reps = c.kind === 'attention' ? 8 : 1;
    for (const fused of [true, false]) {
      const variant = fused ? 'fused kernel' : 'unfused ops';
      if (!fused && c.kind === 'lstm' && c.H > 256 && ctx.quick) continue;
      const fwd = await timeIt(async () => {
        for (let r = 0; r < reps; r++) T.tidy(() => { T.noGrad(() => forward(fused)); });
        await be(dev);
      }, { quick: ctx.quick });
      ctx.record({ name: `${name} forward`, variant, device: 'webgpu', value: (fwd / reps) * 1e3, unit: 'ms' });
      if (fused) recordRate(ctx, `${name} forward`, (fwd / reps) * 1e3, flops(c.kind as 'attention' | 'lstm', 'forward', { B, L, H: c.H }), ceiling);
      const both = await timeIt(async () => {
        for (let r = 0; r < reps; r++) {
          T.tidy(() => { T.sum(forward(fused)).backward(); });
          for (const p of [x, ...w]) { p.grad?.dispose(); p.grad = null; }
        }
        await be(dev);
      }, { quick: ctx.quick });
      ctx.record({ name: `${name} forward+backward`, variant, device: 'webgpu', value: (both / reps) * 1e3, unit: 'ms' });
      if (fused) recordRate(ctx, `${name} forward+backward`, (both / reps) * 1e3, flops(c.kind as 'attention' | 'lstm', 'forward+backward', { B, L, H: c.H }), ceiling);
    }
    x.dispose(); w.forEach((t) => t.dispose());
  }
  await pointer(ctx, dev, ceiling);
  await conv3d(ctx, dev, ceiling);
  await crossEntropy(ctx, dev);
  torchPeer(ctx);
}

/** BOPN's depthwise 3-D convolutions: (B, C = L labels, D1 = M types, D2 = D3 = n words), dilation d. */
const CONV_CASES = [
  { shape: [8, 10, 5, 100, 100], dilation: 1 },
  { shape: [8, 10, 5, 100, 100], dilation: 2 },
  { shape: [16, 10, 4, 40, 40], dilation: 1 },
];
const convName = (c: (typeof CONV_CASES)[number]) => `depthwiseConv3d (${c.shape.join(', ')}) dilation=${c.dilation}`;

async function conv3d(ctx: SuiteContext, dev: T.GpuDevice, ceiling: number | null): Promise<void> {
  for (const c of CONV_CASES) {
    T.manualSeed(3);
    const [Bc, C] = c.shape, volume = c.shape.slice(1).reduce((a, b) => a * b, 1);
    const x = T.keep(T.randn(c.shape, { device: dev, requiresGrad: true }));
    const w = T.keep(T.randn([C, 1, 3, 3, 3], { device: dev, std: 0.2, requiresGrad: true }));
    const bias = T.keep(T.randn([C], { device: dev, std: 0.1, requiresGrad: true }));
    const name = convName(c);
    const fwd = await timeIt(async () => { T.tidy(() => { T.noGrad(() => T.depthwiseConv3d(x, w, bias, c.dilation)); }); await be(dev); }, { quick: ctx.quick });
    ctx.record({ name: `${name} forward`, variant: 'fused kernel', device: 'webgpu', value: fwd * 1e3, unit: 'ms' });
    recordRate(ctx, `${name} forward`, fwd * 1e3, flops('conv3d', 'forward', { B: Bc, H: volume }), ceiling);
    const both = await timeIt(async () => {
      T.tidy(() => { T.sum(T.depthwiseConv3d(x, w, bias, c.dilation)).backward(); });
      await be(dev);
      for (const p of [x, w, bias]) { p.grad?.dispose(); p.grad = null; }
    }, { quick: ctx.quick });
    ctx.record({ name: `${name} forward+backward`, variant: 'fused kernel', device: 'webgpu', value: both * 1e3, unit: 'ms' });
    recordRate(ctx, `${name} forward+backward`, both * 1e3, flops('conv3d', 'forward+backward', { B: Bc, H: volume }), ceiling);
    [x, w, bias].forEach((t) => t.dispose());
  }
}

/**
 * Cross-entropy cases. BOPN: a row per (sentence, start, end, type) cell of B 16, n 40, M 4, its L = 10
 * labels, label smoothing 0.01, the padding cells' rows masked out (rowMask, a quarter of them here).
 * BINDER-like: a row per (sentence, type) and per gold mention (16 · 4 · 2), one class per span of the
 * [CLS] word and 40 words (41²), the spans that are no candidates masked out (logitMask: the lower triangle).
 */
const CE_CASES = [
  { name: 'crossEntropy BOPN N=102400 C=10 labelSmoothing=0.01 rowMask', N: 16 * 40 * 40 * 4, C: 10, labelSmoothing: 0.01, rowMask: 0.25, logitMask: false },
  { name: 'crossEntropy BINDER-like N=128 C=1681 logitMask', N: 16 * 4 * 2, C: 41 * 41, labelSmoothing: 0, rowMask: 0, logitMask: true },
];

/** The masks and targets of a cross-entropy case, made on the host (the peer makes its own the same way). */
function ceInputs(c: (typeof CE_CASES)[number], rng: T.RNG): { target: Int32Array; rows: Float32Array | null; mask: Float32Array | null } {
  const side = Math.round(Math.sqrt(c.C));
  const valid = (k: number) => Math.floor(k / side) <= k % side; // a span (i, j) with i <= j
  const target = new Int32Array(c.N), rows = c.rowMask ? new Float32Array(c.N) : null, mask = c.logitMask ? new Float32Array(c.N * c.C) : null;
  for (let i = 0; i < c.N; i++) {
    let t = rng.int(c.C);
    if (mask) while (!valid(t)) t = rng.int(c.C);
    target[i] = t;
    if (rows) rows[i] = rng.uniform() < c.rowMask ? 0 : 1;
    if (mask) for (let k = 0; k < c.C; k++) mask[i * c.C + k] = valid(k) ? 1 : 0;
  }
  return { target, rows, mask };
}

async function crossEntropy(ctx: SuiteContext, dev: T.GpuDevice): Promise<void> {
  for (const c of CE_CASES) {
    T.manualSeed(4);
    const { target, rows, mask } = ceInputs(c, new T.RNG(5));
    const logits = T.keep(T.randn([c.N, c.C], { device: dev, std: 2, requiresGrad: true }));
    const t = T.keep(T.tensor(target, { device: dev }));
    const rowMask = rows ? T.keep(T.tensor(rows, { device: dev })) : undefined;
    const logitMask = mask ? T.keep(T.tensor(mask, { shape: [c.N, c.C], device: dev })) : undefined;
    const loss = () => T.crossEntropy(logits, t, { labelSmoothing: c.labelSmoothing, rowMask, logitMask });
    const fwd = await timeIt(async () => { T.tidy(() => { T.noGrad(loss); }); await be(dev); }, { quick: ctx.quick });
    ctx.record({ name: `${c.name} forward`, variant: 'fused kernel', device: 'webgpu', value: fwd * 1e3, unit: 'ms' });
    const both = await timeIt(async () => {
      T.tidy(() => { loss().backward(); });
      await be(dev);
      logits.grad?.dispose(); logits.grad = null;
    }, { quick: ctx.quick });
    ctx.record({ name: `${c.name} forward+backward`, variant: 'fused kernel', device: 'webgpu', value: both * 1e3, unit: 'ms' });
    [logits, t, rowMask, logitMask].forEach((x) => x?.dispose());
  }
}

async function pointer(ctx: SuiteContext, dev: T.GpuDevice, ceiling: number | null): Promise<void> {
  const [Bp, K, M, H] = [8, 60, 30, 256];
  T.manualSeed(2);
  const u = T.keep(T.randn([Bp, M, H], { device: dev, requiresGrad: true }));
  const v = T.keep(T.randn([Bp, K, H], { device: dev, requiresGrad: true }));
  const w = T.keep(T.randn([H], { device: dev, requiresGrad: true }));
  const bias = T.keep(T.zeros([1], { device: dev, requiresGrad: true }));
  const mask = T.keep(T.ones([Bp, M], { device: dev }));
  const name = `boundary pointer B=${Bp} K=${K} M=${M} H=${H}`;
  for (const fused of [true, false]) {
    const f = fused ? T.boundaryPointer : T.boundaryPointerUnfused;
    const variant = fused ? 'fused kernel' : 'unfused ops';
    const fwd = await timeIt(async () => { T.tidy(() => { T.noGrad(() => f(u, v, w, bias, mask)); }); await be(dev); }, { quick: ctx.quick });
    ctx.record({ name: `${name} forward`, variant, device: 'webgpu', value: fwd * 1e3, unit: 'ms' });
    if (fused) recordRate(ctx, `${name} forward`, fwd * 1e3, flops('pointer', 'forward', { B: Bp, K, M, H }), ceiling);
    const both = await timeIt(async () => {
      T.tidy(() => { T.sum(T.sigmoid(f(u, v, w, bias, mask))).backward(); });
      await be(dev);
      for (const p of [u, v, w, bias]) { p.grad?.dispose(); p.grad = null; }
    }, { quick: ctx.quick });
    ctx.record({ name: `${name} forward+backward`, variant, device: 'webgpu', value: both * 1e3, unit: 'ms' });
    if (fused) recordRate(ctx, `${name} forward+backward`, both * 1e3, flops('pointer', 'forward+backward', { B: Bp, K, M, H }), ceiling);
  }
  [u, v, w, bias, mask].forEach((t) => t.dispose());
}

async function be(dev: T.GpuDevice): Promise<void> {
  await dev.backend.sync();
}

function torchPeer(ctx: SuiteContext): void {
  const cases = [
    ...CASES.map((c) => ({ ...c, B, L, name: `${c.kind} B=${B} L=${L} hidden=${c.H}` })),
    ...CONV_CASES.map((c) => ({ kind: 'conv3d', ...c, name: convName(c) })),
    // The peer draws its own logits; the targets and masks are ours (ceInputs), as lists.
    ...CE_CASES.map((c) => {
      const { target, rows, mask } = ceInputs(c, new T.RNG(5));
      return { kind: 'cross_entropy', ...c, target: Array.from(target), rows: rows && Array.from(rows), valid: mask && Array.from(mask.subarray(0, c.C)) };
    }),
  ];
  const rows = runPeer<(PeerRow & { name: string; pass: string; seconds: number })[]>('torch_layers.py', cases, 'PyTorch peer');
  for (const row of rows ?? []) {
    ctx.record({ name: `${row.name} ${row.pass}`, variant: `PyTorch, ${row.label}`, device: row.device, adapter: row.device, value: row.seconds * 1e3, unit: 'ms' });
  }
}
