import { randomBytes } from 'node:crypto';

/**
 * FHIR JSON whose decimals keep the precision they were written with. R4 says the precision of a decimal is
 * significant (`1.50` is not `1.5`: http://hl7.org/fhir/R4/json.html#primitive), but JSON.parse makes a JS number
 * of it and JSON.stringify writes the shortest form back. Node 20 cannot read a number's source text during parse
 * (the `context.source` of a reviver comes with V8 11.4), so:
 *
 * - parseFhirJson runs JSON.parse as ever; only when a quick scan finds a number whose JS form would differ from
 *   its literal does it parse again, with those literals turned into marked strings, and a reviver that puts the
 *   number back and records the literal on the holding object or array under a symbol (own and enumerable, so
 *   `{...obj}` copies it along; JSON and Object.keys ignore it). Every object on the way up gets a second
 *   symbol, so a writer can tell at the top whether anything inside needs care.
 * - stringifyFhirJson is JSON.stringify unless the value (or the resource of an entry, or of a Bundle's entries)
 *   carries that symbol; then a replacer writes each recorded literal whose number is still the value held, and a
 *   changed value as JS writes it.
 *
 * The common body has no such number and costs one regex scan more than JSON.parse (over the Synthea set, ~85 % of
 * its time: 48 ms against 57 for 36 MB).
 */

const LITERALS = Symbol('fhir.decimalLiterals');
const HOLDS_LITERALS = Symbol('fhir.holdsDecimalLiterals');

type Holder = Record<string | symbol, unknown>;

/**
 * Where a number JS might write back differently ends or goes on: a fraction ending in 0, an exponent, -0, and a
 * run of 16 or more digits and points (more than a double is sure to hold, wherever the point is) that ends where
 * a JSON value ends. Each is then checked exactly. The run is matched from its first digit only, and taken whole
 * by the lookahead and backreference (an atomic group), so a long run costs one pass; ending at a delimiter keeps
 * the digits inside strings out (every Synthea patient's text has a 19-digit "Person seed: ..."), which would
 * otherwise send each such body through the tokenising pass. Over the Synthea set this alternative took the scan
 * from ~35 to ~48 ms, against JSON.parse's 57 (session 16).
 */
const MAY_BE_LOSSY = /\.\d*0(?=\s*[,\]}])|[eE][+-]?\d+(?=\s*[,\]}])|-0(?=\s*[,\]}])|\d(?<![\d.]\d)(?=([\d.]{15,}))\1(?=\s*[,\]}])/g;
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const isNumberChar = (c: number) => (c >= 48 && c <= 57) || c === 46 || c === 45 || c === 43 || c === 69 || c === 101; // 0-9 . - + E e

const isLossy = (literal: string) => String(Number(literal)) !== literal;

function holdsLossyNumber(text: string): boolean {
  MAY_BE_LOSSY.lastIndex = 0;
  for (let m = MAY_BE_LOSSY.exec(text); m; m = MAY_BE_LOSSY.exec(text)) {
    let start = m.index;
    let end = start + m[0].length;
    while (start > 0 && isNumberChar(text.charCodeAt(start - 1))) start--;
    while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
    const literal = text.slice(start, end);
    if (NUMBER.test(literal) && isLossy(literal)) return true;
    // On after the whole run, so that no later match looks back over it again: with a pattern that matched
    // inside a run (the earlier `\.\d{15}` did), a long run in a string cost time quadratic in its length.
    MAY_BE_LOSSY.lastIndex = end;
  }
  return false;
}

/** JSON tokens that matter here: whole strings (skipped, keys included) and numbers. */
const TOKENS = /"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** Marks a literal while it travels as a string; the nonce keeps any real string from looking like one. */
const MARK = `~dec${randomBytes(8).toString('hex')}~`;
const MARKED_IN_OUTPUT = new RegExp(`"${MARK}([^"]*)"`, 'g');

/** JSON.parse (typed as loosely), keeping the literal of every number JS would write differently. Throws what JSON.parse throws. */
export function parseFhirJson(text: string): any {
  const value = JSON.parse(text);
  if (!holdsLossyNumber(text)) return value;
  let changed = false;
  const marked = text.replace(TOKENS, (token) => {
    if (token.charCodeAt(0) === 34 /* " */ || !isLossy(token)) return token;
    changed = true;
    return `"${MARK}${token}"`;
  });
  return changed ? JSON.parse(marked, revive) : value;
}

function revive(this: Holder, key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.startsWith(MARK)) {
    const literal = value.slice(MARK.length);
    ((this[LITERALS] ??= {}) as Record<string, string>)[key] = literal;
    this[HOLDS_LITERALS] = true;
    return Number(literal);
  }
  if (value !== null && typeof value === 'object' && (value as Holder)[HOLDS_LITERALS]) this[HOLDS_LITERALS] = true;
  return value;
}

/** Whether a value, the resource of a Bundle entry or a Bundle's entries' resources hold kept literals. */
function holdsLiterals(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Holder & { resource?: Holder; entry?: unknown };
  if (v[HOLDS_LITERALS] || v.resource?.[HOLDS_LITERALS]) return true;
  if (v.resourceType !== 'Bundle' || !Array.isArray(v.entry)) return false;
  for (const e of v.entry) if ((e as { resource?: Holder } | null)?.resource?.[HOLDS_LITERALS]) return true;
  return false;
}

/** The literal kept for `holder[key]`, if the value there is still the number it was parsed as. */
export function keptLiteral(holder: object, key: string, value: unknown): string | undefined {
  if (typeof value !== 'number') return undefined;
  const literal = ((holder as Holder)[LITERALS] as Record<string, string> | undefined)?.[key];
  return literal !== undefined && Number(literal) === value ? literal : undefined;
}

function replace(this: Holder, key: string, value: unknown): unknown {
  const literal = keptLiteral(this, key, value);
  return literal === undefined ? value : MARK + literal;
}

/** JSON.stringify that writes kept decimal literals as they were given. */
export function stringifyFhirJson(value: unknown, space?: number): string {
  if (!holdsLiterals(value)) return JSON.stringify(value, null, space);
  return JSON.stringify(value, replace, space).replace(MARKED_IN_OUTPUT, '$1');
}

/** structuredClone, which drops symbols, unless kept literals must come along (then through their JSON). */
export function cloneFhirJson<T>(value: T): T {
  return holdsLiterals(value) ? parseFhirJson(stringifyFhirJson(value)) : structuredClone(value);
}

/** Gives `to`, a new object made of some of `from`'s elements, the kept literals `from` holds. */
export function carryLiterals<T extends object>(from: object, to: T): T {
  const f = from as Holder;
  if (f[HOLDS_LITERALS]) Object.assign(to, { [HOLDS_LITERALS]: true, [LITERALS]: f[LITERALS] });
  return to;
}
