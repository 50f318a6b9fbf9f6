/**
 * Philox4x32-10 (Salmon et al., 2011), the counter-based generator of cuRAND and PyTorch's CUDA backend.
 * Random tensors are drawn on the host from one stream and uploaded, so a seed gives bit-identical
 * values on every device.
 */
const M0 = 0xd2511f53, M1 = 0xcd9e8d57, W0 = 0x9e3779b9, W1 = 0xbb67ae85;

function mulhilo(a: number, b: number): [number, number] {
  const lo = Math.imul(a, b) >>> 0;
  // High 32 bits of a 32x32 product, exact in doubles by splitting b into 16-bit halves.
  const bl = b & 0xffff, bh = b >>> 16;
  const t = (a >>> 0) * bl;
  const hi = Math.floor(((a >>> 0) * bh + Math.floor(t / 65536)) / 65536) >>> 0;
  return [hi, lo];
}

export function philox4x32(counter: [number, number, number, number], key: [number, number]): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter;
  let [k0, k1] = key;
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

export class RNG {
  private key: [number, number];
  private counter = 0;
  private buf: number[] = [];

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`RNG seed must be a finite number, got ${seed}`);
    const s = Math.floor(Math.abs(seed));
    this.key = [s >>> 0, Math.floor(s / 4294967296) >>> 0];
  }

  /** Everything needed to continue the stream later (checkpoints). */
  get state(): { key: [number, number]; counter: number; buffered: number[] } {
    return { key: [...this.key], counter: this.counter, buffered: [...this.buf] };
  }
  set state(s: { key: [number, number]; counter: number; buffered: number[] }) {
    this.key = [...s.key];
    this.counter = s.counter;
    this.buf = [...s.buffered];
  }

  nextU32(): number {
    if (this.buf.length === 0) {
      const c = this.counter++;
      const out = philox4x32([c >>> 0, Math.floor(c / 4294967296) >>> 0, 0, 0], this.key);
      this.buf = [out[3], out[2], out[1], out[0]];
    }
    return this.buf.pop()!;
  }

  /** Uniform in [0, 1) with 24 random bits: exactly representable in f32. */
  uniform(): number {
    return (this.nextU32() >>> 8) / 16777216;
  }

  /** Standard normal by Box-Muller on two uniforms, computed in f64. */
  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}

let globalRng = new RNG(0);
export function manualSeed(seed: number): void {
  globalRng = new RNG(seed);
}
export function defaultRng(): RNG {
  return globalRng;
}
