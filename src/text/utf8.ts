/** Strict UTF-8 decoding of user files: invalid bytes are an error naming the file and the line. */
const strict = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try { return strict.decode(bytes); } catch {
    throw new Error(`${file}:${firstBadLine(bytes)}: invalid UTF-8`);
  }
}

function firstBadLine(bytes: Uint8Array): number {
  let start = 0, line = 1;
  for (;;) {
    const nl = bytes.indexOf(10, start), end = nl < 0 ? bytes.length : nl;
    try { strict.decode(bytes.subarray(start, end)); } catch { return line; }
    if (nl < 0) return line;
    start = nl + 1; line++;
  }
}
