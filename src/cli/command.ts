/** The shape of one `diffusionner` command: its usage, flags (from the table) and what it runs. */
import type { CommandFlags, Parsed } from './parse.js';

export interface Command {
  name: string;
  /** The usage line, without the leading `diffusionner`. */
  usage: string;
  summary: string;
  flags: CommandFlags;
  /** Whether it takes arguments besides its flags (text, folders). */
  positionals: boolean;
  /** Flags that take comma-separated lists in this command. */
  lists?: readonly string[];
  /** More help text: what the arguments are, examples. */
  more?: string;
  run(p: Parsed): Promise<void>;
}
