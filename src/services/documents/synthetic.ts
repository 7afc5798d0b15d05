import { createHash } from 'node:crypto';
import type { DocumentReference, Resource } from '@medplum/fhirtypes';
import type { SyntheticPerson, SyntheticRng, SyntheticWorld } from '../module.ts';
import { addDays, daysBetween } from '../../registry/dates.ts';
import { ORGNR_SYSTEM } from '../../access/principal.ts';
import { textPdf } from './pdf.ts';
import { DOCUMENT_CLASS_SYSTEM } from './windows.ts';
import { PDF } from './content-type.ts';

/**
 * Synthetic journal documents. Their PDFs are not stored: the DocumentReference carries everything
 * the page shows, and ITI-68 renders the same bytes again from it (tag `generated`), so seeding
 * writes FHIR resources only and 100,000 citizens cost no content rows. Size and hash in the
 * attachment are those of the rendered page.
 */
export const CONTENT_TAG_SYSTEM = 'https://samhandling.dev/fhir/CodeSystem/document-content';
export const GENERATED = { system: CONTENT_TAG_SYSTEM, code: 'generated' };

const LOINC = 'http://loinc.org';

interface Kind {
  classCode: string;
  classDisplay: string;
  loinc: string;
  title: string;
  texts: string[];
  /** Who writes it: a hospital doctor, or the citizen's GP. */
  by: 'hospital' | 'gp';
}

const KINDS: Kind[] = [
  {
    classCode: 'A00-1',
    classDisplay: 'Epikriser og sammenfatninger',
    loinc: '18842-5',
    title: 'Epikrise',
    by: 'hospital',
    texts: [
      'Innlagt med brystsmerter. Akutt koronarsyndrom utelukket. Utskrevet i god form til videre oppfølging hos fastlege.',
      'Innlagt med pneumoni, behandlet med antibiotika intravenøst i tre døgn, deretter peroralt. Kontroll hos fastlege om to uker.',
      'Elektiv kneprotese høyre side. Ukomplisert forløp. Fysioterapi videre i kommunen.',
      'Innlagt etter fall i hjemmet med håndleddsbrudd. Gipset, kontroll ved poliklinikken om seks uker.',
    ],
  },
  {
    classCode: 'I00-1',
    classDisplay: 'Henvisninger og korrespondanse',
    loinc: '57133-1',
    title: 'Henvisning',
    by: 'gp',
    texts: [
      'Henvises til vurdering ved kardiologisk poliklinikk for anstrengelsesutløste brystsmerter.',
      'Henvises til ortopedisk vurdering av vedvarende kneplager etter idrettsskade.',
      'Henvises til gastroskopi for langvarige dyspeptiske plager uten effekt av behandling.',
    ],
  },
  {
    classCode: 'I00-1',
    classDisplay: 'Henvisninger og korrespondanse',
    loinc: '51852-2',
    title: 'Brev fra poliklinikk',
    by: 'hospital',
    texts: [
      'Takk for henvisningen. Pasienten er satt opp til poliklinisk time, innkalling sendes separat.',
      'Kontroll gjennomført. Stabile forhold, ingen endring i behandlingen. Ny kontroll om ett år.',
    ],
  },
];

const YEARS_BACK = 6;

/** Documents for a minority of citizens: one to three, from their GP and the hospitals. */
export function syntheticDocuments(person: SyntheticPerson, world: SyntheticWorld, rng: SyntheticRng): Resource[] {
  // Every documented test identity has documents to show; about 15 % of the others.
  if (!rng.chance(0.15) && !person.wellKnown) return [];
  const doctors = world.cliniciansWhere(['LE'], 'hospital');
  const name = person.patient.name?.[0];
  const patientName = [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  const earliest = addDays(world.referenceDate, -365 * YEARS_BACK) > person.birthDate ? addDays(world.referenceDate, -365 * YEARS_BACK) : person.birthDate;
  const span = Math.max(0, daysBetween(earliest, world.referenceDate));
  const out: Resource[] = [];
  const count = rng.int(1, 3);
  for (let n = 1; n <= count; n++) {
    const kind = rng.pick(KINDS);
    const author = kind.by === 'gp' ? person.gp : doctors.length ? rng.pick(doctors) : undefined;
    if (!author) continue;
    const day = addDays(earliest, rng.int(0, span));
    const id = `doc-${person.patientId}-${n}`;
    const doc: DocumentReference = {
      resourceType: 'DocumentReference',
      id,
      meta: { tag: [GENERATED, { system: ORGNR_SYSTEM, code: author.orgnr }] },
      masterIdentifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${uuidFrom(rng)}` },
      status: 'current',
      docStatus: 'final',
      type: { coding: [{ system: LOINC, code: kind.loinc, display: kind.title }] },
      category: [{ coding: [{ system: DOCUMENT_CLASS_SYSTEM, code: kind.classCode, display: kind.classDisplay }] }],
      subject: { reference: `Patient/${person.patientId}`, display: patientName },
      date: `${day}T${String(rng.int(8, 15)).padStart(2, '0')}:${String(rng.int(0, 59)).padStart(2, '0')}:00Z`,
      author: [{ reference: `PractitionerRole/${author.roleId}` }, { reference: `Organization/${author.organizationId}` }],
      custodian: { reference: `Organization/${author.organizationId}` },
      description: rng.pick(kind.texts),
      content: [{ attachment: { contentType: PDF, url: `Binary/${id}`, title: kind.title, creation: day } }],
    };
    const pdf = renderSyntheticPdf(doc);
    doc.content[0].attachment = { ...doc.content[0].attachment, size: pdf.length, hash: createHash('sha1').update(pdf).digest('base64') };
    out.push(doc);
  }
  return out;
}

/** True when this DocumentReference's content is rendered from it rather than stored. */
export function isGenerated(doc: Resource): boolean {
  return (doc.meta?.tag ?? []).some((t) => t.system === GENERATED.system && t.code === GENERATED.code);
}

/** The page of a synthetic document: everything on it comes from the DocumentReference. */
export function renderSyntheticPdf(doc: DocumentReference): Buffer {
  const a = doc.content?.[0]?.attachment;
  return textPdf(a?.title ?? 'Dokument', [
    `Pasient: ${doc.subject?.display ?? ''}`,
    `Dato: ${(doc.date ?? '').slice(0, 10)}`,
    doc.description ?? '',
    'Syntetisk dokument (Samhandling) - ikke ekte pasientdata.',
  ]);
}

function uuidFrom(rng: SyntheticRng): string {
  const hex = Array.from({ length: 32 }, () => rng.int(0, 15).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
