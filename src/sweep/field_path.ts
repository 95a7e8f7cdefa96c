// Field paths, as a sweep names a scenario field or a metric: `host.ram`, `vms[0].workload.tasks_per_vcpu`,
// `vms[*].apf` (every element of the list), `total.page_ready.p99_us`. The same spelling the scenario
// errors use for a field (src/scenario/load.ts), plus `[*]`.

export type PathStep = { key: string } | { index: number } | { all: true };

const PATH_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[(?:\d+|\*)\])*$/;

/** The steps of `path`, or null when it is not a field path. */
export function parsePath(path: string): PathStep[] | null {
  if (!PATH_RE.test(path)) return null;
  const steps: PathStep[] = [];
  for (const m of path.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[(\d+|\*)\]/g)) {
    if (m[1] !== undefined) steps.push({ key: m[1] });
    else if (m[2] === '*') steps.push({ all: true });
    else steps.push({ index: Number(m[2]) });
  }
  return steps;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Sets the field at `steps` in `root` (plain data, changed in place) to `value`. Missing mappings on the
 * way are created; a list index must exist, and `[*]` sets the rest of the path in every element. Returns
 * null, or why the path does not fit the data (e.g. "vms[3]: the list has 1 element(s)").
 */
export function setPath(root: unknown, steps: readonly PathStep[], value: unknown): string | null {
  const go = (node: unknown, i: number, at: string): string | null => {
    const step = steps[i]!;
    const last = i === steps.length - 1;
    if ('key' in step) {
      if (!isRecord(node)) return `${at || '(top level)'}: not a mapping, so it has no field ${step.key}`;
      const here = at ? `${at}.${step.key}` : step.key;
      if (last) {
        node[step.key] = structuredClone(value);
        return null;
      }
      if (node[step.key] === undefined) node[step.key] = {};
      return go(node[step.key], i + 1, here);
    }
    if (!Array.isArray(node))
      return `${at}: not a list, so [${'index' in step ? step.index : '*'}] does not apply`;
    const indices = 'index' in step ? [step.index] : node.map((_, k) => k);
    for (const k of indices) {
      if (k >= node.length) return `${at}[${k}]: the list has ${node.length} element(s)`;
      if (last) node[k] = structuredClone(value);
      else {
        const why = go(node[k], i + 1, `${at}[${k}]`);
        if (why !== null) return why;
      }
    }
    return null;
  };
  return go(root, 0, '');
}

/** The value at `steps` in `root` (no `[*]`), or undefined when there is none. */
export function getPath(root: unknown, steps: readonly PathStep[]): unknown {
  let node = root;
  for (const step of steps) {
    if ('key' in step) {
      if (!isRecord(node) || !Object.hasOwn(node, step.key)) return undefined;
      node = node[step.key];
    } else if ('index' in step) {
      if (!Array.isArray(node) || step.index >= node.length) return undefined;
      node = node[step.index];
    } else return undefined;
  }
  return node;
}
