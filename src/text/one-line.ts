/**
 * Error messages about user files stay on one line, whatever the file held: JSON.parse quotes the
 * offending text (newlines included), and names come from the file. Long ones are cut.
 */
export function oneLine(message: string, max = 500): string {
  const flat = message.replace(/[\r\n\u2028\u2029]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
