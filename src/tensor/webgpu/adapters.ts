/**
 * Which WebGPU adapter (GPU) a process uses. Dawn's node bindings take the choice as an `adapter=NAME`
 * flag when the GPU object is created (a case-sensitive substring of the adapter's name); they have no
 * call that lists adapters, but a name that matches none fails with the list, which `listAdapters` reads.
 * A choice is an index into that list or a name (substring); it must be made before the device starts.
 */
import { create } from 'webgpu';

export interface AdapterEntry { index: number; backend: string; name: string }

/** No adapter's name contains this, so Dawn answers with its list. */
const NO_SUCH_ADAPTER = '\u0001list-adapters\u0001';

/** The adapters Dawn sees, in its order (an empty list when it sees none). */
export async function listAdapters(): Promise<AdapterEntry[]> {
  try {
    await create([`adapter=${NO_SUCH_ADAPTER}`]).requestAdapter();
  } catch (e) {
    return parseAdapterList((e as Error).message);
  }
  return [];
}

/** Dawn's "Available adapters:" lines (` * backend: 'vulkan', name: 'llvmpipe (…)'`) as entries. */
export function parseAdapterList(message: string): AdapterEntry[] {
  const out: AdapterEntry[] = [];
  for (const m of message.matchAll(/^\s*\*\s*backend:\s*'([^']*)',\s*name:\s*'(.*)'\s*$/gm)) out.push({ index: out.length, backend: m[1], name: m[2] });
  return out;
}

/**
 * The adapter a choice names: `N` (an index into the list) or a name or part of one. Errors name the
 * choice and list the adapters. Dawn selects by name only, so the second of two adapters with the same
 * name cannot be chosen from inside one process: that is an error that says how to do it instead.
 */
export function resolveAdapterChoice(choice: string, adapters: readonly AdapterEntry[]): AdapterEntry {
  const listing = adapters.length ? adapters.map((a) => `${a.index}: ${a.name} (${a.backend})`).join('; ') : 'none';
  let entry: AdapterEntry | undefined;
  if (/^\d+$/.test(choice)) {
    entry = adapters[Number(choice)];
    if (!entry) throw new Error(`--adapter ${choice}: there is no adapter ${choice}; the adapters are ${listing}`);
  } else {
    const matches = adapters.filter((a) => a.name.includes(choice));
    if (!matches.length) throw new Error(`--adapter '${choice}': no adapter's name contains it (names are case-sensitive); the adapters are ${listing}`);
    entry = matches[0];
  }
  const first = adapters.find((a) => a.name.includes(entry!.name));
  if (first && first.index !== entry.index) {
    throw new Error(`--adapter ${choice}: adapter ${entry.index} has the same name as adapter ${first.index} (${entry.name}), and Dawn picks adapters by name, so only the first can be chosen; ` +
      'to run one process per identical GPU, give each process one visible GPU (a container per GPU, or the Vulkan driver\'s device selection, e.g. MESA_VK_DEVICE_SELECT for Mesa drivers)');
  }
  return entry;
}
