/** The citizen's privacy settings as the portal edits them, to and from the server's Consent (src/access/privacy.ts). */
export const PRIVACY_ACTION_SYSTEM = 'https://samhandling.dev/fhir/CodeSystem/privacy-action';
export const SERVICE_TAG_SYSTEM = 'https://samhandling.dev/fhir/CodeSystem/service';
export const HPR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.4';

export interface Settings {
  reserved: string[];
  restrict: 'none' | 'all' | 'some';
  restricted: string[];
  blocked: string[];
}

export function fromConsent(consent: any): Settings {
  const out: Settings = { reserved: [], restrict: 'none', restricted: [], blocked: [] };
  for (const p of consent?.provision?.provision ?? []) {
    const kind = (p.action ?? []).flatMap((a: any) => a.coding ?? []).find((c: any) => c.system === PRIVACY_ACTION_SYSTEM)?.code;
    const codes: string[] = (p.code ?? []).flatMap((c: any) => c.coding ?? []).filter((c: any) => c.system === SERVICE_TAG_SYSTEM).map((c: any) => c.code);
    if (kind === 'reserve') out.reserved.push(...codes);
    else if (kind === 'restrict') {
      if (codes.length) {
        out.restrict = 'some';
        out.restricted.push(...codes);
      } else out.restrict = 'all';
    } else if (kind === 'block')
      for (const a of p.actor ?? []) if (a.reference?.identifier?.system === HPR_SYSTEM) out.blocked.push(String(a.reference.identifier.value));
  }
  return out;
}

export function toConsent(base: any, s: Settings): any {
  const action = (code: string) => [{ coding: [{ system: PRIVACY_ACTION_SYSTEM, code }] }];
  const services = (codes: string[]) => codes.map((code) => ({ coding: [{ system: SERVICE_TAG_SYSTEM, code }] }));
  const provisions: any[] = [];
  if (s.reserved.length) provisions.push({ type: 'deny', action: action('reserve'), code: services(s.reserved) });
  if (s.restrict === 'all') provisions.push({ type: 'deny', action: action('restrict') });
  else if (s.restrict === 'some' && s.restricted.length) provisions.push({ type: 'deny', action: action('restrict'), code: services(s.restricted) });
  for (const hpr of s.blocked)
    provisions.push({
      type: 'deny',
      action: action('block'),
      actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] }, reference: { identifier: { system: HPR_SYSTEM, value: hpr } } }],
    });
  return { ...base, provision: { type: 'permit', ...(provisions.length ? { provision: provisions } : {}) } };
}

/** One change between saved and edited settings, named by a message key and its values. */
export interface Change {
  key: string;
  vars: Record<string, string>;
}

export function changesBetween(before: Settings, after: Settings, serviceName: (code: string) => string, personName: (hpr: string) => string): Change[] {
  const out: Change[] = [];
  const added = (a: string[], b: string[]) => b.filter((x) => !a.includes(x));
  for (const s of added(before.reserved, after.reserved)) out.push({ key: 'privacy.effect.reserve', vars: { service: serviceName(s) } });
  for (const s of added(after.reserved, before.reserved)) out.push({ key: 'privacy.effect.unreserve', vars: { service: serviceName(s) } });
  const restricted = (s: Settings) => (s.restrict === 'all' ? ['*'] : s.restrict === 'some' ? s.restricted : []);
  const [rb, ra] = [restricted(before), restricted(after)];
  if (after.restrict === 'all' && before.restrict !== 'all') out.push({ key: 'privacy.effect.restrictAll', vars: {} });
  else if (before.restrict === 'all' && after.restrict !== 'all' && ra.length === 0) out.push({ key: 'privacy.effect.unrestrictAll', vars: {} });
  if (after.restrict !== 'all') {
    for (const s of added(rb, ra)) out.push({ key: 'privacy.effect.restrict', vars: { service: serviceName(s) } });
    for (const s of added(ra, rb)) if (s !== '*') out.push({ key: 'privacy.effect.unrestrict', vars: { service: serviceName(s) } });
  }
  for (const h of added(before.blocked, after.blocked)) out.push({ key: 'privacy.effect.block', vars: { who: personName(h) } });
  for (const h of added(after.blocked, before.blocked)) out.push({ key: 'privacy.effect.unblock', vars: { who: personName(h) } });
  return out;
}
