/**
 * safetensors, the Hugging Face weight format: an 8-byte little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}, then the raw little-endian
 * data. F32, F16 and BF16 read into f32 (F64 too; I32/I64 into i32). Every malformed input is rejected with
 * one line naming the file and what is wrong, before anything large is allocated.
 */
import { oneLine } from '../text/one-line.js';
import { readFileSync, writeFileSync } from 'node:fs';

export interface RawTensor {
  dtype: 'f32' | 'i32' | 'f64';
  shape: number[];
  data: Float32Array | Int32Array | Float64Array;
}

/** `f64`: keep F64 tensors in double precision (for parity checks on the cpu device) instead of rounding them to f32. */
export interface ReadOptions { f64?: boolean }

const ELEMENT_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };
const MAX_HEADER = 100 * 1024 * 1024;

function fail(file: string, msg: string): never {
  throw new Error(oneLine(`${file}: invalid safetensors: ${msg}`));
}

export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Nearest f16 bit pattern (ties to even); out-of-range values become ±Infinity, NaN stays NaN. */
export function f32ToF16(v: number): number {
  const f = new Float32Array([v]), u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000, exp = (u >>> 23) & 0xff, man = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = man | 0x800000, shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1), mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (man >>> 13);
  const rem = man & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is still correct
  return half;
}

export function parseSafetensors(bytes: Uint8Array, file = '<buffer>', o: ReadOptions = {}): Map<string, RawTensor> {
  if (bytes.length < 8) fail(file, `${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > MAX_HEADER || n > bytes.length - 8) fail(file, `header length ${n} at byte 0 exceeds the file (${bytes.length} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(file, `header (bytes 8..${8 + n}) is not UTF-8 JSON: ${(e as Error).message}`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail(file, 'header is not a JSON object');
  const dataStart = 8 + n, dataLen = bytes.length - dataStart;
  const entries: { name: string; dtype: string; shape: number[]; off: number[]; count: number }[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `tensor ${JSON.stringify(name.slice(0, 80))}`;
    if (typeof t !== 'object' || t === null) fail(file, `${where}: entry is not an object`);
    if (typeof t.dtype !== 'string' || !Object.hasOwn(ELEMENT_BYTES, t.dtype)) fail(file, `${where}: unsupported dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(file, `${where}: shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      fail(file, `${where}: data_offsets ${JSON.stringify(off)} must be [begin, end] with 0 <= begin <= end`);
    }
    const count = (t.shape as number[]).reduce((a, b) => a * b, 1);
    const eb = ELEMENT_BYTES[t.dtype];
    if (off[1] - off[0] !== count * eb) fail(file, `${where}: ${off[1] - off[0]} bytes for ${t.dtype}[${t.shape}] (${count * eb} needed)`);
    if (off[1] > dataLen) fail(file, `${where}: data_offsets end ${off[1]} is past the data (${dataLen} bytes)`);
    entries.push({ name, dtype: t.dtype, shape: t.shape as number[], off: off as number[], count });
  }
  // Overlaps are refused before anything is decoded, so no file makes us allocate more than it holds.
  const spans = entries.map((e) => [e.off[0], e.off[1], e.name] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) fail(file, `tensors ${JSON.stringify(spans[i - 1][2].slice(0, 80))} and ${JSON.stringify(spans[i][2].slice(0, 80))} overlap`);
  }
  const out = new Map<string, RawTensor>();
  for (const { name, dtype, shape, off, count } of entries) {
    const raw = bytes.subarray(dataStart + off[0], dataStart + off[1]);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let data: RawTensor['data'];
    switch (dtype) {
      case 'F32': data = new Float32Array(count); for (let i = 0; i < count; i++) data[i] = dv.getFloat32(4 * i, true); break;
      case 'F64': data = o.f64 ? new Float64Array(count) : new Float32Array(count); for (let i = 0; i < count; i++) data[i] = dv.getFloat64(8 * i, true); break;
      case 'F16': data = new Float32Array(count); for (let i = 0; i < count; i++) data[i] = f16ToF32(dv.getUint16(2 * i, true)); break;
      case 'BF16': {
        const bits = new Uint32Array(count);
        for (let i = 0; i < count; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
        data = new Float32Array(bits.buffer);
        break;
      }
      case 'I32': data = new Int32Array(count); for (let i = 0; i < count; i++) data[i] = dv.getInt32(4 * i, true); break;
      default: {
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) {
          const v = dv.getBigInt64(8 * i, true);
          if (v > 2147483647n || v < -2147483648n) fail(file, `tensor ${JSON.stringify(name.slice(0, 80))}: I64 value ${v} at element ${i} does not fit in i32`);
          data[i] = Number(v);
        }
      }
    }
    out.set(name, { dtype: data instanceof Int32Array ? 'i32' : data instanceof Float64Array ? 'f64' : 'f32', shape, data });
  }
  return out;
}

function readHeaderJson(file: string): Record<string, unknown> {
  const bytes = readFileSync(file);
  if (bytes.length < 8) fail(file, `${bytes.length} bytes is shorter than the 8-byte header length`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  if (n > MAX_HEADER || n > bytes.length - 8) fail(file, `header length ${n} at byte 0 exceeds the file (${bytes.length} bytes)`);
  let header: unknown;
  try { header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')); } catch (e) { fail(file, `header is not JSON: ${(e as Error).message}`); }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail(file, 'header is not a JSON object');
  return header as Record<string, unknown>;
}

/** The __metadata__ of a safetensors file, without reading its tensors. */
export function safetensorsMetadata(file: string): Record<string, string> {
  const meta = readHeaderJson(file).__metadata__;
  return meta && typeof meta === 'object' ? (meta as Record<string, string>) : {};
}

/** Each tensor's dtype and shape as the header declares them (no data is read or checked). */
export function safetensorsHeader(file: string): Record<string, { dtype: string; shape: number[] }> {
  const { __metadata__: _m, ...tensors } = readHeaderJson(file);
  return tensors as Record<string, { dtype: string; shape: number[] }>;
}

export function readSafetensors(file: string, o: ReadOptions = {}): Map<string, RawTensor> {
  return parseSafetensors(readFileSync(file), file, o);
}

/**
 * Serialises f32 tensors (i32 as I32) in name order, 8-byte aligned header as the reference writer does.
 * With `f16`, float tensors are stored as F16 (half the size; values rounded to nearest).
 */
export function serializeSafetensors(tensors: Map<string, RawTensor>, metadata?: Record<string, string>, o: { f16?: boolean } = {}): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const half = (t: RawTensor) => !!o.f16 && t.dtype === 'f32';
  let offset = 0;
  for (const n of names) {
    const t = tensors.get(n)!;
    const bytes = t.data.length * (half(t) ? 2 : 4);
    header[n] = { dtype: t.dtype === 'i32' ? 'I32' : half(t) ? 'F16' : 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const n of names) {
    const t = tensors.get(n)!, d = t.data;
    if (half(t)) {
      for (let i = 0; i < d.length; i++) view.setUint16(pos + 2 * i, f32ToF16(d[i]), true);
      pos += 2 * d.length;
    } else {
      // Little-endian on every platform Node runs on; copy the raw bytes.
      out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
      pos += d.byteLength;
    }
  }
  return out;
}

export function writeSafetensors(file: string, tensors: Map<string, RawTensor>, metadata?: Record<string, string>): void {
  writeFileSync(file, serializeSafetensors(tensors, metadata));
}
