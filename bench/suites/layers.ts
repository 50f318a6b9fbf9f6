/**
 * Attention and LSTM at B = 8, L = 32, hidden 256 and 1024, and DiffusionNER's boundary pointer at
 * B = 8, K = 60, M = 30, H = 256: the fused kernels against the op-by-op composition of engine ops, and
 * PyTorch CPU (Debian's python3-torch) for attention and LSTM at the same sizes when installed.
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
 * multiply-add per (span, word, unit) forward, twice that backward.
 */
function flops(kind: 'attention' | 'lstm' | 'pointer', pass: 'forward' | 'forward+backward', dims: { B: number; L?: number; H: number; K?: number; M?: number }): number {
  const { B, H } = dims;
  const fwd = kind === 'attention' ? 4 * B * dims.L! * dims.L! * H
    : kind === 'lstm' ? 16 * B * dims.L! * H * H
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
  torchPeer(ctx);
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
  const cases = CASES.map((c) => ({ ...c, B, L }));
  const rows = runPeer<(PeerRow & { kind: string; H: number; pass: string; seconds: number })[]>('torch_layers.py', cases, 'PyTorch peer');
  for (const row of rows ?? []) {
    ctx.record({ name: `${row.kind} B=${B} L=${L} hidden=${row.H} ${row.pass}`, variant: `PyTorch, ${row.label}`, device: row.device, adapter: row.device, value: row.seconds * 1e3, unit: 'ms' });
  }
}
