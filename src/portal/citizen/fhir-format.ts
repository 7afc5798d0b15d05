import type { CodeableConcept, Quantity, Reference } from '@medplum/fhirtypes';

/** Display helpers for FHIR data types on the citizen's pages. */
export function conceptText(c: CodeableConcept | undefined): string {
  if (!c) return '';
  return c.text ?? c.coding?.find((x) => x.display)?.display ?? c.coding?.[0]?.code ?? '';
}

export function codeOf(c: CodeableConcept | undefined, system?: string): string | undefined {
  return (system ? c?.coding?.find((x) => x.system === system) : c?.coding?.[0])?.code;
}

export function quantityText(q: Quantity | undefined): string {
  if (!q || q.value === undefined) return '';
  return `${q.comparator ?? ''}${q.value} ${q.unit ?? q.code ?? ''}`.trim();
}

export function referenceText(r: Reference | undefined): string {
  return r?.display ?? r?.identifier?.value ?? r?.reference ?? '';
}

/** `system|code` of a concept's first coding in one of the preferred systems. */
export function tokenOf(c: CodeableConcept | undefined, preferred: string[]): string | undefined {
  for (const s of preferred) {
    const hit = c?.coding?.find((x) => x.system === s && x.code);
    if (hit) return `${hit.system}|${hit.code}`;
  }
  const first = c?.coding?.find((x) => x.system && x.code);
  return first ? `${first.system}|${first.code}` : undefined;
}
