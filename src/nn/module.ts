/**
 * Module: named parameters with Hugging Face-style dotted names ("encoder.layer.0.attention.self.query.weight"),
 * child modules, train/eval mode, freezing, and state dicts whose loading reports exactly what mismatched.
 */
import { keep } from '../tensor/scope.js';
import { fmtShape, shapeEq } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

export type StateDict = Map<string, Tensor>;

export abstract class Module {
  training = true;
  private readonly paramMap = new Map<string, Tensor>();
  private readonly childMap = new Map<string, Module>();

  /** Registers a parameter: it is kept out of tidy scopes and requires grad unless frozen. */
  protected param(name: string, t: Tensor): Tensor {
    if (name.includes('.')) throw new Error(`parameter name '${name}' must not contain '.'`);
    if (this.paramMap.has(name) || this.childMap.has(name)) throw new Error(`'${name}' is registered twice`);
    keep(t);
    t.setRequiresGrad(true);
    t.name = name;
    this.paramMap.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    if (this.paramMap.has(name) || this.childMap.has(name)) throw new Error(`'${name}' is registered twice`);
    this.childMap.set(name, m);
    return m;
  }

  /**
   * Takes another module's parameters and children as this module's own, under their own names (no
   * prefix): a part built elsewhere, such as a shared sentence encoder, keeps its checkpoint names at the
   * root of every model that uses it.
   */
  protected adopt(m: Module): void {
    for (const [n, p] of m.paramMap) {
      if (this.paramMap.has(n) || this.childMap.has(n)) throw new Error(`'${n}' is registered twice`);
      this.paramMap.set(n, p);
    }
    for (const [n, c] of m.childMap) this.child(n, c);
  }

  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [n, p] of this.paramMap) yield [prefix + n, p];
    for (const [n, c] of this.childMap) yield* c.namedParameters(`${prefix}${n}.`);
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix.replace(/\.$/, ''), this];
    for (const [n, c] of this.childMap) yield* c.namedModules(`${prefix}${n}.`);
  }

  parameterCount(onlyTrainable = false): number {
    return this.parameters().filter((p) => !onlyTrainable || p.requiresGrad).reduce((n, p) => n + p.size, 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Stops (or restarts) gradient flow into every parameter of this module. */
  freeze(frozen = true): this {
    for (const p of this.parameters()) p.requiresGrad = !frozen;
    return this;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) { p.grad?.dispose(); p.grad = null; }
  }

  stateDict(): StateDict {
    return new Map(this.namedParameters());
  }

  /**
   * Copies values into this module's parameters. With `strict` (the default) every parameter must be
   * present and nothing else; shapes must always match. All problems are reported in one error.
   */
  async loadStateDict(state: Map<string, Tensor | { shape: readonly number[]; data: ArrayLike<number> }>, strict = true): Promise<void> {
    const own = this.stateDict();
    const problems: string[] = [];
    const missing = [...own.keys()].filter((k) => !state.has(k));
    const unexpected = [...state.keys()].filter((k) => !own.has(k));
    if (strict && missing.length) problems.push(`missing: ${missing.join(', ')}`);
    if (strict && unexpected.length) problems.push(`unexpected: ${unexpected.join(', ')}`);
    for (const [k, p] of own) {
      const v = state.get(k);
      if (v && !shapeEq(v.shape, p.shape)) problems.push(`${k}: shape ${fmtShape(v.shape)} in the state dict, ${fmtShape(p.shape)} in the model`);
    }
    if (problems.length) throw new Error(`loadStateDict: ${problems.join('; ')}`);
    for (const [k, p] of own) {
      const v = state.get(k);
      if (!v) continue;
      p.copyFrom(v instanceof Tensor ? await v.data() : v.data);
    }
  }

  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}
