import type { AuditEvent, AuditEventAgent } from '@medplum/fhirtypes';
import { EMERGENCY_BASES, EMERGENCY_PURPOSES, type AccessContext } from '../access/policy.ts';
import { AUTHORISATION_SYSTEM, HPR_SYSTEM, NIN_SYSTEM, ORGNR_SYSTEM, type Principal } from '../access/principal.ts';

/**
 * AuditEvents shaped like IHE Basic Audit Log Patterns (BALP): one event per request and
 * patient, with the patient as entity role 1 and every resource touched as role 4.
 */
export type Interaction =
  | 'read' | 'vread' | 'search-type' | 'search-system' | 'history-instance' | 'history-type' | 'history-system'
  | 'create' | 'update' | 'patch' | 'delete' | 'operation' | 'transaction' | 'batch'
  | 'privacy-settings-read' | 'privacy-settings-update' | 'access-denied';

export type AuditOutcome = 'success' | 'denied' | 'error';

export interface AuditInput {
  interaction: Interaction;
  outcome: AuditOutcome;
  /** Why it was denied or failed (OperationOutcome text). */
  outcomeDescription?: string;
  principal?: Principal;
  access?: AccessContext;
  /** Patient the event is about (compartment id) and their national id if known. */
  patient?: { id: string; nin?: string };
  /** References of resources touched: `Type/id` or `Type/id/_history/v`. */
  /** The resources touched: a reference, or a reference with the service the resource belongs to (for the citizen's log). */
  entities?: (string | { reference: string; service?: string })[];
  /** The query of a search, as received. */
  query?: string;
  /** Why the caller says they need this access (header nhn-access-reason), e.g. for an emergency. */
  reason?: string;
  operation?: string;
  requestId?: string;
  clientAddress?: string;
  recorded?: Date;
}

/** One row of the audit table: the event plus the columns the access log filters on. */
export interface AuditRow {
  recorded: string;
  compartment: string | null;
  patient_nin: string | null;
  action: string;
  interaction: string;
  outcome: string;
  agent_kind: string;
  agent_id: string | null;
  agent_org: string | null;
  on_behalf_of: string | null;
  purpose_of_use: string | null;
  access_basis: string | null;
  emergency: boolean;
  request_id: string | null;
  content: string;
}

export const ACCESS_BASIS_SYSTEM = 'https://samhandling.dev/fhir/CodeSystem/access-basis';
export const EMERGENCY_EXTENSION = 'https://samhandling.dev/fhir/StructureDefinition/emergency-access';
export const AUDIT_SOURCE = 'Samhandling';

const ACTION: Record<Interaction, AuditEvent['action']> = {
  read: 'R', vread: 'R', 'search-type': 'E', 'search-system': 'E', 'history-instance': 'R', 'history-type': 'R', 'history-system': 'R',
  create: 'C', update: 'U', patch: 'U', delete: 'D', operation: 'E', transaction: 'E', batch: 'E',
  'privacy-settings-read': 'R', 'privacy-settings-update': 'U', 'access-denied': 'E',
};

const OUTCOME: Record<AuditOutcome, AuditEvent['outcome']> = { success: '0', denied: '4', error: '8' };

/**
 * What the agents of an event are made of: the caller and, for the cache of their JSON, nothing
 * else. `agents` reads only these, so equal facts give equal agents.
 */
interface AgentFacts {
  kind: Principal['kind'];
  hpr?: string;
  practitionerId?: string;
  role?: string;
  nin?: string;
  organisation?: string;
  childOrganisation?: string;
  tokenId?: string;
  clientId?: string;
  purposeOfUse?: string;
}

function agentFacts(p: Principal, ctx: AccessContext | undefined): AgentFacts {
  const f: AgentFacts = { kind: p.kind, tokenId: p.tokenId, clientId: p.clientId, purposeOfUse: ctx?.purposeOfUse };
  if (p.kind === 'practitioner') Object.assign(f, { hpr: p.hpr, practitionerId: p.registry.practitionerId, role: p.role, organisation: p.organisation, childOrganisation: p.childOrganisation });
  else if (p.kind === 'citizen') f.nin = p.nin;
  else if (p.kind === 'system') Object.assign(f, { organisation: p.organisation, childOrganisation: p.childOrganisation });
  return f;
}

const UNAUTHENTICATED: AuditEventAgent[] = [
  { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, who: { display: 'unauthenticated' }, requestor: true },
];

function agents(f: AgentFacts): AuditEventAgent[] {
  const out: AuditEventAgent[] = [];
  const purpose = f.purposeOfUse ? [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: f.purposeOfUse }] }] : undefined;
  const policy = f.tokenId ? [f.tokenId] : undefined;
  switch (f.kind) {
    case 'practitioner':
      out.push({
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
        who: { identifier: { system: HPR_SYSTEM, value: f.hpr }, ...(f.practitionerId ? { reference: `Practitioner/${f.practitionerId}` } : {}) },
        ...(f.role ? { role: [{ coding: [{ system: AUTHORISATION_SYSTEM, code: f.role }] }] } : {}),
        requestor: true,
        ...(policy ? { policy } : {}),
        ...(purpose ? { purposeOfUse: purpose } : {}),
      });
      if (f.organisation)
        out.push({
          type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110151', display: 'Application Launcher' }] },
          who: { identifier: { system: ORGNR_SYSTEM, value: f.organisation } },
          requestor: false,
          ...(f.childOrganisation && f.childOrganisation !== f.organisation ? { location: { identifier: { system: ORGNR_SYSTEM, value: f.childOrganisation } } } : {}),
        });
      break;
    case 'citizen':
      out.push({
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
        who: { identifier: { system: NIN_SYSTEM, value: f.nin } },
        requestor: true,
        ...(policy ? { policy } : {}),
      });
      break;
    case 'system':
      if (f.organisation)
        out.push({
          type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
          who: { identifier: { system: ORGNR_SYSTEM, value: f.childOrganisation ?? f.organisation } },
          requestor: true,
          ...(policy ? { policy } : {}),
          ...(purpose ? { purposeOfUse: purpose } : {}),
        });
      break;
    case 'admin':
      out.push({ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, who: { display: 'local administrator (auth off)' }, requestor: true });
  }
  if (f.clientId)
    out.push({
      type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110150', display: 'Application' }] },
      who: { identifier: { system: 'urn:ietf:params:oauth:client-id', value: f.clientId } },
      requestor: false,
    });
  return out;
}

/** AuditEvent.entity.detail type naming the national service the entity belongs to. */
export const SERVICE_DETAIL = 'service';

/** The AuditEvent for one request about one patient (or none), as a table row. */
export function auditRow(input: AuditInput): AuditRow {
  const p = input.principal ?? input.access?.principal;
  const ctx = input.access;
  const recorded = (input.recorded ?? new Date()).toISOString();
  let entity = input.patient ? patientEntityJson(input.patient.id, input.patient.nin) : '';
  for (const e of input.entities ?? []) {
    const reference = typeof e === 'string' ? e : e.reference;
    // The service is decided from the resource's content (a lab Observation is a lab result), which the log no longer has.
    const service = typeof e === 'string' ? undefined : e.service;
    entity += `${entity ? ',' : ''}{"what":{"reference":${JSON.stringify(reference)}},${RESOURCE_ENTITY_TYPE_ROLE}${service ? `,"detail":[{"type":"${SERVICE_DETAIL}","valueString":${JSON.stringify(service)}}]` : ''}}`;
  }
  if (input.query) entity += `${entity ? ',' : ''}{${QUERY_ENTITY_TYPE_ROLE},"query":"${Buffer.from(input.query).toString('base64')}"}`;
  // A refusal before the policy resolved still records what the caller claimed.
  const claimed = p && (p.kind === 'practitioner' || p.kind === 'system') ? p : undefined;
  const purposeOfUse = ctx?.purposeOfUse ?? claimed?.attestation?.purposeOfUse;
  const accessBasis = ctx?.accessBasis ?? (claimed?.kind === 'practitioner' ? claimed.accessBasis : undefined) ?? claimed?.attestation?.accessBasis;
  const emergency = ctx ? ctx.emergency : EMERGENCY_BASES.includes(accessBasis ?? '') || EMERGENCY_PURPOSES.includes(purposeOfUse ?? '');
  const purposeOfEvent = purposeOfEventJson(purposeOfUse, accessBasis, input.reason);
  const onBehalfOf = p?.kind === 'citizen' && input.patient?.nin && input.patient.nin !== p.nin ? input.patient.nin : null;
  // The AuditEvent's JSON, in its element order, from constant pieces and the per-request parts:
  // it is built for every read, and serialising the whole object each time was the largest
  // single cost of a read's audit.
  const content =
    `{"resourceType":"AuditEvent","meta":${EVENT_META}${emergency ? `,"extension":${EMERGENCY_EXTENSION_JSON}` : ''},"type":${EVENT_TYPE}` +
    `,"subtype":[${subtypeJson(input.interaction)}],"action":"${ACTION[input.interaction]}","recorded":"${recorded}","outcome":"${OUTCOME[input.outcome]}"` +
    `${input.outcomeDescription ? `,"outcomeDesc":${JSON.stringify(input.outcomeDescription)}` : ''}` +
    `${purposeOfEvent ? `,"purposeOfEvent":${purposeOfEvent}` : ''}` +
    `,"agent":${agentsJson(p, ctx)},"source":${EVENT_SOURCE}${entity ? `,"entity":[${entity}]` : ''}}`;
  return {
    recorded,
    compartment: input.patient?.id ?? null,
    patient_nin: input.patient?.nin ?? null,
    action: ACTION[input.interaction] as string,
    interaction: input.interaction,
    outcome: input.outcome,
    agent_kind: p?.kind ?? 'anonymous',
    agent_id: !p ? null : p.kind === 'practitioner' ? p.hpr : p.kind === 'citizen' ? p.nin : p.clientId ?? null,
    agent_org: !p ? null : p.kind === 'practitioner' || p.kind === 'system' ? p.organisation ?? null : null,
    on_behalf_of: onBehalfOf,
    purpose_of_use: purposeOfUse ?? null,
    access_basis: accessBasis ?? null,
    emergency,
    request_id: input.requestId ?? null,
    content,
  };
}

const EVENT_META = JSON.stringify({ profile: ['https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead'] });
const EMERGENCY_EXTENSION_JSON = JSON.stringify([{ url: EMERGENCY_EXTENSION, valueBoolean: true }]);
const EVENT_TYPE = JSON.stringify({ system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' });
const EVENT_SOURCE = JSON.stringify({
  observer: { display: AUDIT_SOURCE },
  type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
});

const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const PATIENT_ENTITY_TYPE_ROLE = `"type":${JSON.stringify({ system: ENTITY_TYPE, code: '1', display: 'Person' })},"role":${JSON.stringify({ system: OBJECT_ROLE, code: '1', display: 'Patient' })}`;
const RESOURCE_ENTITY_TYPE_ROLE = `"type":${JSON.stringify({ system: ENTITY_TYPE, code: '2', display: 'System Object' })},"role":${JSON.stringify({ system: OBJECT_ROLE, code: '4', display: 'Domain Resource' })}`;
const QUERY_ENTITY_TYPE_ROLE = `"type":${JSON.stringify({ system: ENTITY_TYPE, code: '2' })},"role":${JSON.stringify({ system: OBJECT_ROLE, code: '24', display: 'Query' })}`;

// The entities, subtype and purposeOfEvent are written as strings from constant pieces, and the
// ones that repeat from request to request are kept: the event is built for every read, and
// these were most of the time it took (bench/read.ts).
function patientEntityJson(id: string, nin: string | undefined): string {
  const identifier = nin ? `,"identifier":{"system":"${NIN_SYSTEM}","value":${JSON.stringify(nin)}}` : '';
  return `{"what":{"reference":${JSON.stringify(`Patient/${id}`)}${identifier}},${PATIENT_ENTITY_TYPE_ROLE}}`;
}

const subtypes = new Map<string, string>();
function subtypeJson(interaction: Interaction): string {
  let json = subtypes.get(interaction);
  if (json === undefined) {
    const system = interaction.startsWith('privacy') || interaction === 'access-denied' ? 'https://samhandling.dev/fhir/CodeSystem/audit-interaction' : 'http://hl7.org/fhir/restful-interaction';
    subtypes.set(interaction, (json = JSON.stringify({ system, code: interaction })));
  }
  return json;
}

/** `purposeOfEvent`'s JSON array, or '' when there is none. A stated reason makes it one of a kind, so only those without are kept. */
const purposes = new Map<string, string>();
function purposeOfEventJson(purposeOfUse: string | undefined, accessBasis: string | undefined, reason: string | undefined): string {
  const key = reason === undefined ? `${purposeOfUse ?? ''}|${accessBasis ?? ''}` : undefined;
  const kept = key === undefined ? undefined : purposes.get(key);
  if (kept !== undefined) return kept;
  const out: unknown[] = [];
  if (purposeOfUse) out.push({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: purposeOfUse }] });
  if (accessBasis) out.push(reason ? { coding: [{ system: ACCESS_BASIS_SYSTEM, code: accessBasis }], text: reason } : { coding: [{ system: ACCESS_BASIS_SYSTEM, code: accessBasis }] });
  else if (reason) out.push({ text: reason });
  const json = out.length ? JSON.stringify(out) : '';
  if (key !== undefined) {
    if (purposes.size >= 1000) purposes.clear();
    purposes.set(key, json);
  }
  return json;
}

/** The agents' JSON, the same for every request with the same facts (caller, token, purpose): kept for the next. */
const agentsCache = new Map<string, string>();
function agentsJson(p: Principal | undefined, ctx: AccessContext | undefined): string {
  if (!p) return JSON.stringify(UNAUTHENTICATED);
  const facts = agentFacts(p, ctx);
  const key = JSON.stringify(facts);
  let json = agentsCache.get(key);
  if (json === undefined) {
    if (agentsCache.size >= 10_000) agentsCache.clear();
    agentsCache.set(key, (json = JSON.stringify(agents(facts))));
  }
  return json;
}
