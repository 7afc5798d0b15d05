import { indexStructureDefinitionBundle, tryGetDataType, validationRegexes } from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';
import { definitions } from './definitions.ts';
import type { Bundle, CodeSystem, CodeSystemConcept, StructureDefinition, ValueSet } from '@medplum/fhirtypes';

/**
 * The R4 (4.0.1) base definitions as @medplum/core needs them, loaded once per process (the library keeps its
 * schemas in module-global state), plus the R4 value sets for required bindings, which the library does not check.
 *
 * Where the library departs from R4 we correct it here, and only here:
 * - primitive formats: the library's regexes for base64Binary reject the whitespace R4 allows, and its date/time
 *   regexes accept partial times and times without a zone that R4 forbids; we install the R4 regexes.
 * - invariant ras-2 (`probability is decimal implies (probability as decimal) <= 100`) evaluates to empty, i.e. fails,
 *   when `probability` is absent, because `is` on an empty collection is empty in the library's FHIRPath; the
 *   intent (and the HL7 validator's result) is that it holds, so we use an equivalent that is true on empty.
 * - reference target profiles: the library compares `targetProfile` literally, so a versioned canonical
 *   (`.../Patient|4.0.1`, common in IG profiles) never matches a `Patient/123` reference; see prepareProfile.
 */

const R4_FORMATS: Record<string, RegExp> = {
  // The trailing whitespace goes with the padding: a final `\s*` beside each character's own made spaces before a
  // bad character take time quadratic in their number (100,000: 4 s).
  base64Binary: /^\s*(?:(?:[A-Za-z\d+/]\s*){4})*(?:(?:[A-Za-z\d+/]\s*){2}=\s*=\s*|(?:[A-Za-z\d+/]\s*){3}=\s*)?$/,
  date: /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2]\d|3[0-1]))?)?$/,
  dateTime:
    /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2]\d|3[0-1])(T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$/,
  instant:
    /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2]\d|3[0-1])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/,
  time: /^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?$/,
};

const CONSTRAINT_FIXES: Record<string, { from: string; to: string }> = {
  'ras-2': {
    from: 'probability is decimal implies (probability as decimal) <= 100',
    to: 'probability.ofType(decimal).all($this <= 100)',
  },
};

let loadedSchema: InternalTypeSchema | undefined;

/**
 * Idempotent and cheap when nothing changed; a load costs about a second (parsing ~650 StructureDefinitions).
 * Anyone else indexing the R4 bundles into the library replaces our corrected schemas with uncorrected ones, so
 * this checks that the schema it loaded is still the one in use, and loads again if not.
 */
export function loadBaseDefinitions(): void {
  if (loadedSchema && tryGetDataType('RiskAssessment') === loadedSchema) {
    return;
  }
  Object.assign(validationRegexes, R4_FORMATS);
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    const bundle = definitions(file) as Bundle<StructureDefinition>;
    for (const entry of bundle.entry ?? []) {
      fixConstraints(entry.resource as StructureDefinition);
    }
    indexStructureDefinitionBundle(bundle);
  }
  loadedSchema = tryGetDataType('RiskAssessment');
}

function fixConstraints(sd: StructureDefinition): void {
  for (const element of sd.snapshot?.element ?? []) {
    for (const constraint of element.constraint ?? []) {
      const fix = CONSTRAINT_FIXES[constraint.key as string];
      if (fix && constraint.expression === fix.from) {
        constraint.expression = fix.to;
      }
    }
  }
}

/** A copy of a profile in the form the library handles: target profiles without their `|version`. */
export function prepareProfile(sd: StructureDefinition): StructureDefinition {
  const copy = structuredClone(sd);
  for (const element of copy.snapshot?.element ?? []) {
    for (const type of element.type ?? []) {
      if (type.targetProfile) {
        type.targetProfile = type.targetProfile.map((url) => url.split('|')[0]);
      }
    }
  }
  return copy;
}

/** Codes by system; a code bound without a system (type `code`) is looked up in every system of the set. */
export type Expansion = Map<string, Set<string>>;

/**
 * Expands the R4 value sets that can be enumerated from the bundled code systems. A value set that uses filters,
 * or a code system we do not hold in full (SNOMED CT, UCUM, BCP-13 mime types, ...), is not enumerable: `expand`
 * returns undefined and the binding is not checked, because we cannot tell a wrong code from one we do not know.
 */
export class ValueSetIndex {
  private readonly valueSets = new Map<string, ValueSet>();
  private readonly codeSystems = new Map<string, CodeSystem>();
  private readonly expansions = new Map<string, Expansion | undefined>();
  /** Value sets being expanded: a versioned URL asked for meanwhile (a cycle) is not cached as undefined. */
  private readonly expanding = new Set<string>();

  static r4(): ValueSetIndex {
    const index = new ValueSetIndex();
    for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
      for (const entry of (definitions(file) as Bundle).entry ?? []) {
        const resource = entry.resource;
        if (resource?.resourceType === 'ValueSet' || resource?.resourceType === 'CodeSystem') {
          index.add(resource);
        }
      }
    }
    return index;
  }

  add(resource: ValueSet | CodeSystem): void {
    if (!resource.url) {
      return;
    }
    if (resource.resourceType === 'ValueSet') {
      this.valueSets.set(resource.url, resource);
    } else {
      this.codeSystems.set(resource.url, resource);
    }
    this.expansions.clear();
  }

  /**
   * `url` may carry a `|version` suffix, as R4 bindings do; only the R4 version is held, so it is ignored. The
   * binding's own text is the key too, once its value set is done: this is asked for every coded value written.
   */
  expand(url: string): Expansion | undefined {
    if (this.expansions.has(url)) {
      return this.expansions.get(url);
    }
    const bar = url.indexOf('|');
    if (bar >= 0) {
      const key = url.slice(0, bar);
      const expansion = this.expand(key);
      if (!this.expanding.has(key)) {
        this.expansions.set(url, expansion);
      }
      return expansion;
    }
    this.expansions.set(url, undefined); // guards against value sets that include each other
    this.expanding.add(url);
    try {
      const expansion = this.compute(url);
      this.expansions.set(url, expansion);
      return expansion;
    } finally {
      this.expanding.delete(url);
    }
  }

  private compute(url: string): Expansion | undefined {
    const vs = this.valueSets.get(url);
    if (!vs?.compose?.include?.length || vs.compose.exclude?.length) {
      return undefined;
    }
    const result: Expansion = new Map();
    for (const include of vs.compose.include) {
      if (include.filter?.length) {
        return undefined;
      }
      const parts: Expansion[] = [];
      if (include.system) {
        const part = this.systemCodes(include.system, include.concept?.map((c) => c.code));
        if (!part) {
          return undefined;
        }
        parts.push(part);
      }
      for (const nested of include.valueSet ?? []) {
        const part = this.expand(nested);
        if (!part) {
          return undefined;
        }
        parts.push(part);
      }
      // Several sources in one include are intersected (R4 ValueSet.compose.include semantics).
      const merged = parts.reduce((acc, part) => intersect(acc, part));
      for (const [system, codes] of merged) {
        const target = result.get(system) ?? new Set<string>();
        codes.forEach((c) => target.add(c));
        result.set(system, target);
      }
    }
    return result;
  }

  private systemCodes(system: string, listed: string[] | undefined): Expansion | undefined {
    if (listed) {
      return new Map([[system, new Set(listed)]]);
    }
    const cs = this.codeSystems.get(system);
    if (!cs || cs.content !== 'complete' || !cs.concept) {
      return undefined;
    }
    const codes = new Set<string>();
    const walk = (concepts: CodeSystemConcept[]): void => {
      for (const c of concepts) {
        codes.add(c.code as string);
        walk(c.concept ?? []);
      }
    };
    walk(cs.concept);
    return new Map([[system, codes]]);
  }
}

function intersect(a: Expansion, b: Expansion): Expansion {
  const out: Expansion = new Map();
  for (const [system, codes] of a) {
    const other = b.get(system);
    if (other) {
      out.set(system, new Set([...codes].filter((c) => other.has(c))));
    }
  }
  return out;
}

export function codeInExpansion(expansion: Expansion, code: string, system?: string): boolean {
  if (system !== undefined) {
    return expansion.get(system)?.has(code) ?? false;
  }
  for (const codes of expansion.values()) {
    if (codes.has(code)) {
      return true;
    }
  }
  return false;
}
