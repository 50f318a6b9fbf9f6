// Runs in a child process so that a crashing driver cannot take the caller down.
// Prints one JSON line: {ok, info?, error?}.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const gpu = create([]);
try {
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    console.log(JSON.stringify({ ok: false, error: 'requestAdapter() returned null' }));
  } else {
    const info = adapter.info ?? {};
    const device = await adapter.requestDevice();
    console.log(JSON.stringify({
      ok: true,
      info: { vendor: info.vendor, architecture: info.architecture, description: info.description },
    }));
    device.destroy();
  }
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e?.message ?? e) }));
}
process.exit(0);
