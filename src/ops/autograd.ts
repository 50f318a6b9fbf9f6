/** Reverse-mode differentiation over the tape: topological order, rules from GRAD_RULES, accumulation. */
import { keep, tidy } from '../tensor/scope.js';
import { fmtShape, shapeEq } from '../tensor/shape.js';
import { noGrad, type Tensor } from '../tensor/tensor.js';
import { onesLike } from './creation.js';
import { add } from './elementwise.js';
import { GRAD_RULES } from './grad-rules.js';

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: graphs of long sequence models are deeper than the JS stack.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i];
      if (next.requiresGrad && !seen.has(next)) { seen.add(next); stack.push([next, 0]); }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

export interface BackwardOptions {
  /** Keep the graph so backward can run again through it. */
  retainGraph?: boolean;
}

/**
 * Accumulates d(root)/d(leaf) into `.grad` of every leaf that requires grad. The root must be a scalar
 * unless an upstream gradient of its shape is given. Leaf gradients belong to their leaf (no tidy scope
 * disposes them); intermediate gradients are disposed as soon as they are consumed.
 */
export function backward(root: Tensor, gradient?: Tensor, opts: BackwardOptions = {}): void {
  if (root.isDisposed) throw new Error(`backward(): ${root.describe()} was disposed`);
  if (!root.requiresGrad) throw new Error(`backward(): ${root.describe()} does not require grad (no input of it had requiresGrad set)`);
  if (!gradient && root.size !== 1) {
    throw new Error(`backward() of a non-scalar ${root.describe()} needs an explicit gradient of shape ${fmtShape(root.shape)}`);
  }
  if (gradient && !shapeEq(gradient.shape, root.shape)) {
    throw new Error(`backward(): gradient shape ${fmtShape(gradient.shape)} does not match ${fmtShape(root.shape)}`);
  }
  const order = topoOrder(root);
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, gradient ?? onesLike(root));
    for (const t of order) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        if (t.grad) {
          const sumG = add(t.grad, g);
          t.grad.dispose();
          t.grad = keep(sumG);
          if (g !== gradient) g.dispose();
        } else {
          t.grad = keep(g === gradient ? g.detach() : g);
        }
        continue;
      }
      const rule = GRAD_RULES[t.node.op];
      if (!rule) throw new Error(`backward(): no gradient rule for op '${t.node.op}'`);
      const node = t.node;
      // The rule's temporaries (masks, casts), gradients for inputs that need none and partial sums die
      // with this scope; only each input's new accumulated gradient leaves it.
      const updated = tidy(() => {
        const inGrads = rule(g, node, t);
        const sums = new Map<Tensor, { at: number; sum: Tensor }>();
        node.inputs.forEach((input, i) => {
          const gi = inGrads[i];
          if (!gi || !input.requiresGrad) return;
          const prev = sums.get(input)?.sum ?? grads.get(input);
          sums.set(input, { at: sums.get(input)?.at ?? i, sum: prev ? add(prev, gi) : gi === g ? g.detach() : gi });
        });
        return { at: [...sums.values()].map((v) => v.at), sums: [...sums.values()].map((v) => v.sum) };
      });
      updated.at.forEach((i, k) => {
        const input = node.inputs[i];
        grads.get(input)?.dispose();
        grads.set(input, updated.sums[k]);
      });
      if (g !== gradient) g.dispose();
    }
    if (!opts.retainGraph) freeGraph(order);
  });
}

/** Cuts the nodes of `order` and disposes the tensors tidy() kept alive only for their graph. */
function freeGraph(order: Tensor[]): void {
  const held = new Set<Tensor>();
  for (const t of order) {
    if (!t.node) continue;
    for (const dep of [...t.node.saved, ...t.node.inputs]) if (dep.heldForGraph) held.add(dep);
    if (t.heldForGraph) held.add(t);
    t.node = null;
  }
  for (const t of held) t.dispose();
}

/**
 * Frees the autograd graph behind `roots` without running backward: what tidy() kept alive for it
 * (a forward pass whose backward will not run, e.g. a skipped training step). The roots themselves stay
 * alive, detached from the graph; do not call it while another live tensor still needs the same graph.
 */
export function releaseGraph(...roots: Tensor[]): void {
  const order: Tensor[] = [], seen = new Set<Tensor>(roots);
  const todo = [...roots];
  while (todo.length) {
    const t = todo.pop()!;
    order.push(t);
    for (const dep of t.graphDependencies()) if (!seen.has(dep)) { seen.add(dep); todo.push(dep); }
  }
  freeGraph(order);
}
