/** Element types. `f64` exists only on the cpu device (for finite-difference gradient checks). */
export type DType = 'f32' | 'i32' | 'f64';
export type TypedArray = Float32Array | Int32Array | Float64Array;

export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, i32: 4, f64: 8 };

export function allocArray(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'f32': return new Float32Array(n);
    case 'i32': return new Int32Array(n);
    case 'f64': return new Float64Array(n);
  }
}

export function arrayDType(a: ArrayLike<number>): DType | null {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Float64Array) return 'f64';
  return null;
}
