/**
 * Memory scopes. JS garbage collection does not free GPU buffers in time, so every tensor created inside
 * `tidy(fn)` is disposed when fn returns, except the tensors it returns, those passed to `keep`, and,
 * while gradients are recorded, the tensors the returned ones' autograd graph still needs.
 */
import type { Tensor } from './tensor.js';

const stack: Set<Tensor>[] = [];

export function trackTensor(t: Tensor): void {
  stack[stack.length - 1]?.add(t);
}

/** Takes a tensor out of every scope: the caller now owns it and must dispose it. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

/**
 * Every tensor reachable from a tidy() result through arrays, Maps, Sets and plain objects, at any
 * depth. Class instances are not searched (one may reach a device and all its caches): return their
 * tensors in a plain container, or keep() them.
 */
function collect(value: unknown, out: Set<Tensor>, isTensor: (v: unknown) => v is Tensor, seen = new Set<object>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isTensor(value)) { out.add(value); return; }
  const proto = Object.getPrototypeOf(value);
  const items = Array.isArray(value) ? value : value instanceof Map || value instanceof Set ? value.values()
    : proto === Object.prototype || proto === null ? Object.values(value) : [];
  for (const v of items) collect(v, out, isTensor, seen);
}

let tensorCheck: (v: unknown) => v is Tensor = (_v): _v is Tensor => false;
export function registerTensorCheck(f: (v: unknown) => v is Tensor): void {
  tensorCheck = f;
}

export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new Error('tidy() takes a synchronous function: an async one would dispose tensors it still uses');
    }
  } catch (e) {
    stack.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  stack.pop();
  const survivors = new Set<Tensor>();
  collect(result, survivors, tensorCheck);
  // The autograd graph behind a returned tensor must outlive the scope too.
  // They are flagged so that backward() (which frees the graph) can dispose them afterwards.
  const todo = [...survivors];
  while (todo.length) {
    const t = todo.pop()!;
    for (const dep of t.graphDependencies()) {
      if (!survivors.has(dep)) {
        survivors.add(dep);
        todo.push(dep);
        if (scope.has(dep)) dep.heldForGraph = true;
      }
    }
  }
  const parent = stack[stack.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}
