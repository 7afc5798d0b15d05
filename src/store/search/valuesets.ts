import { definitions } from '../../fhir/definitions.ts';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';
import type { Queryable } from '../db.ts';

/**
 * Terminology for `:in` / `:not-in` (value sets) and token `:below` / `:above` (is-a in a code
 * system's hierarchy). Value sets come from this server's own ValueSet resources first, then
 * from those shipped with the R4 definitions. Only enumerations are expanded: explicit concepts,
 * whole code systems, an `expansion.contains` list. Value sets built from filters or other value
 * sets are unknown here and the modifier is reported as unsupported.
 */

/** Members of a value set: per system, its codes, or `undefined` for every code of the system. */
export type ValueSetMembers = { system: string; codes?: string[] }[];

let valueSets: Map<string, ValueSet> | undefined;
let codeSystems: Map<string, CodeSystem> | undefined;

function load(): void {
  if (valueSets) return;
  valueSets = new Map();
  codeSystems = new Map();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    const bundle = definitions(file) as Bundle;
    for (const e of bundle.entry ?? []) {
      const r = e.resource as ValueSet | CodeSystem | undefined;
      if (r?.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
      if (r?.resourceType === 'CodeSystem' && r.url && !codeSystems.has(r.url)) codeSystems.set(r.url, r);
    }
  }
}

/** The ValueSet resources stored on this server with these canonical URLs (looked up through the index). */
export async function loadStoredValueSets(db: Queryable, urls: string[]): Promise<Map<string, ValueSet>> {
  const out = new Map<string, ValueSet>();
  if (!urls.length) return out;
  const rows = await db.query<{ content: string }>(
    `select r.content from sp_uri u join resource r on r.rid = u.rid where u.p = 'ValueSet.url' and u.value = any($1::text[]) and not r.deleted`,
    [urls.map((u) => u.split('|')[0])]
  );
  for (const { content } of rows) {
    const vs = JSON.parse(content) as ValueSet;
    if (vs.url) out.set(vs.url, vs);
  }
  return out;
}

export function expandValueSet(url: string, stored?: Map<string, ValueSet>): ValueSetMembers | undefined {
  load();
  const key = url.split('|')[0];
  const vs = stored?.get(key) ?? valueSets!.get(key);
  if (!vs) return undefined;
  if (vs.compose?.exclude?.length || vs.compose?.include?.some((i) => i.filter?.length || i.valueSet?.length || !i.system)) return undefined;
  const members: ValueSetMembers = [];
  for (const inc of vs.compose?.include ?? []) {
    if (inc.concept?.length) members.push({ system: inc.system!, codes: inc.concept.map((c) => c.code!) });
    else {
      // A code system we know is listed out, so `code` elements (indexed without system) match too.
      const known = ancestorsIn(inc.system!);
      members.push(known ? { system: inc.system!, codes: [...known.keys()] } : { system: inc.system! });
    }
  }
  for (const c of vs.expansion?.contains ?? []) if (c.system && c.code) members.push({ system: c.system, codes: [c.code] });
  return members.length ? members : undefined;
}

const hierarchy = new Map<string, Map<string, string[]>>();

/** code → the code and all its ancestors, from the nested concepts of a known code system. */
function ancestorsIn(system: string): Map<string, string[]> | undefined {
  load();
  let m = hierarchy.get(system);
  if (m) return m;
  const cs = codeSystems!.get(system);
  if (!cs?.concept?.length) return undefined;
  m = new Map();
  const walk = (concepts: CodeSystemConcept[] | undefined, path: string[]) => {
    for (const c of concepts ?? []) {
      m!.set(c.code!, [...path, c.code!]);
      walk(c.concept, [...path, c.code!]);
    }
  };
  walk(cs.concept, []);
  hierarchy.set(system, m);
  return m;
}

/** Codes subsumed by `code` (itself included), or undefined when the code system is unknown. */
export function codesBelow(system: string, code: string): string[] | undefined {
  const m = ancestorsIn(system);
  if (!m) return undefined;
  return [...m].filter(([, path]) => path.includes(code)).map(([c]) => c);
}

/** Codes that subsume `code` (itself included), or undefined when the code system is unknown. */
export function codesAbove(system: string, code: string): string[] | undefined {
  const m = ancestorsIn(system);
  if (!m) return undefined;
  return m.get(code) ?? [code];
}
