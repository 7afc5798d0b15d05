import { useState, type FormEvent } from 'react';
import Button from '@helsenorge/designsystem-react/components/Button';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import Title from '@helsenorge/designsystem-react/components/Title';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import type { PatientContext } from '../PatientRecord.tsx';
import { conceptText, ScrollTable, Section } from './Section.tsx';

const SD = 'https://samhandling.dev/fhir/StructureDefinition/';
const KJ_ALLERGY = `${SD}KjAllergyIntolerance`;
const CERTAINTY_EXT = `${SD}kj-certainty`;
const CERTAINTY_SYSTEM = 'https://samhandling.dev/fhir/CodeSystem/kj-certainty';
const VERIFICATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification';
const ATC = 'http://www.whocc.no/atc';
const HPR = 'urn:oid:2.16.578.1.12.4.1.4.4';
const CERTAINTIES = ['unconfirmed', 'presumed', 'confirmed'] as const;
/** HPR authorisations that register critical information (the server decides; this only hides the form). */
const REGISTERING = ['LE'];

interface CriticalData {
  reactions: any[];
  other: any[];
  /** The status call says active critical information exists, but none is shown: restricted by the patient. */
  hiddenActive: boolean;
}

const ENTRY_STATE_EXT = `${SD}kj-entry-state`;

const certaintyOf = (r: any): string | undefined =>
  r.extension?.find((e: any) => e.url === CERTAINTY_EXT)?.valueCoding?.code ?? r.verificationStatus?.coding?.[0]?.code;

/** Pasientens kritiske informasjon: drug reactions first, then the rest; doctors register drug reactions here. */
export function CriticalInfo({ client, patient, me }: PatientContext) {
  const { t, formatDate } = useI18n();
  // The service's own read ($critical-information) says whether each entry is active at the server's
  // time; the status call (not logged) tells whether active entries exist at all, restricted ones included.
  const load = async (): Promise<CriticalData> => {
    const [bundle, status] = await Promise.all([client.json('/$critical-information'), client.json('/$privacy-status').catch(() => undefined)]);
    const entries = (bundle.entry ?? [])
      .filter((e: any) => e.resource)
      .map((e: any) => ({ ...e.resource, _state: e.extension?.find((x: any) => x.url === ENTRY_STATE_EXT)?.valueCode ?? 'active' }));
    const activeExists = status?.parameter?.find((p: any) => p.name === 'hasActiveCriticalInformation')?.valueBoolean === true;
    const isReaction = (r: any) => r.resourceType === 'AllergyIntolerance' && r.category?.includes('medication');
    return {
      reactions: entries.filter(isReaction),
      other: entries.filter((r: any) => !isReaction(r)),
      hiddenActive: activeExists && !entries.some((r: any) => r._state === 'active'),
    };
  };
  return (
    <Section id="critical" title={t('section.critical')} load={load}>
      {(data, reload) => (
        <div className="sh-stack">
          {data.hiddenActive && (
            <p className="kj-hidden" data-testid="critical-hidden">
              {t('hidden.critical')}
            </p>
          )}
          <Title htmlMarkup="h3" appearance="title4">
            {t('critical.drugReactions')}
          </Title>
          {data.reactions.length === 0 ? (
            <p>{t('section.empty')}</p>
          ) : (
            <ScrollTable
              label={t('critical.drugReactions')}
              testId="drug-reactions"
              columns={[t('critical.substance'), t('critical.reaction'), t('critical.certainty'), t('critical.status'), t('critical.recorded')]}
            >
                  {data.reactions.map((r) => (
                    <tr key={r.id}>
                      <td>
                        {conceptText(r.code)} {r.code?.coding?.find((c: any) => c.system === ATC)?.code ? `(${r.code.coding.find((c: any) => c.system === ATC).code})` : ''}
                      </td>
                      <td>{(r.reaction ?? []).flatMap((x: any) => x.manifestation ?? []).map(conceptText).join(', ')}</td>
                      <td>{certaintyOf(r) ? t(`certainty.${certaintyOf(r)}`) : ''}</td>
                      <td>{t(`status.${r._state}`)}</td>
                      <td>{formatDate(r.recordedDate ?? r.meta?.lastUpdated)}</td>
                    </tr>
                  ))}
            </ScrollTable>
          )}
          <Title htmlMarkup="h3" appearance="title4">
            {t('critical.other')}
          </Title>
          {data.other.length === 0 ? (
            <p>{t('section.empty')}</p>
          ) : (
            <ul data-testid="critical-other">
              {data.other.map((r) => (
                <li key={`${r.resourceType}/${r.id}`}>
                  {conceptText(r.code)} {r.category?.[0] && typeof r.category[0] === 'object' ? `(${conceptText(r.category[0])})` : ''} – {t(`status.${r._state}`)}
                </li>
              ))}
            </ul>
          )}
          {me.authorisation && REGISTERING.includes(me.authorisation) ? (
            <RegisterDrugReaction {...{ client, patient, me }} onSaved={reload} />
          ) : (
            <p className="sh-subtle">{t('critical.doctorsOnly')}</p>
          )}
        </div>
      )}
    </Section>
  );
}

function RegisterDrugReaction({ client, patient, me, onSaved }: PatientContext & { onSaved: () => void }) {
  const { t } = useI18n();
  const [atc, setAtc] = useState('');
  const [drug, setDrug] = useState('');
  const [manifestation, setManifestation] = useState('');
  const [certainty, setCertainty] = useState<(typeof CERTAINTIES)[number]>('confirmed');
  const [tried, setTried] = useState(false);
  const [result, setResult] = useState<{ ok?: boolean; error?: unknown }>({});
  const [busy, setBusy] = useState(false);
  const atcValid = /^[A-Z]\d{2}[A-Z]{2}\d{2}$/.test(atc.trim().toUpperCase());

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTried(true);
    if (!atcValid || !drug.trim()) return;
    setBusy(true);
    setResult({});
    try {
      const [practitioner] = await client.search(`/Practitioner?identifier=${encodeURIComponent(`${HPR}|${me.hpr}`)}`, 1);
      const now = new Date().toISOString();
      await client.json('/AllergyIntolerance', {
        method: 'POST',
        body: {
          resourceType: 'AllergyIntolerance',
          meta: { profile: [KJ_ALLERGY] },
          extension: [{ url: CERTAINTY_EXT, valueCoding: { system: CERTAINTY_SYSTEM, code: certainty } }],
          clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
          verificationStatus: { coding: [{ system: VERIFICATION_SYSTEM, code: certainty === 'confirmed' ? 'confirmed' : 'unconfirmed' }] },
          type: 'allergy',
          category: ['medication'],
          code: { coding: [{ system: ATC, code: atc.trim().toUpperCase(), display: drug.trim() }], text: drug.trim() },
          patient: { reference: `Patient/${patient.id}` },
          recordedDate: now,
          ...(practitioner ? { recorder: { reference: `Practitioner/${practitioner.id}` } } : {}),
          ...(manifestation.trim() ? { reaction: [{ manifestation: [{ text: manifestation.trim() }] }] } : {}),
        },
      });
      setResult({ ok: true });
      setAtc('');
      setDrug('');
      setManifestation('');
      setTried(false);
      onSaved();
    } catch (error) {
      setResult({ error });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="kj-form kj-native" onSubmit={submit} noValidate aria-labelledby="register-title" data-testid="register-drug-reaction">
      <Title htmlMarkup="h3" appearance="title4" id="register-title">
        {t('critical.register')}
      </Title>
      <div>
        <label htmlFor="kj-atc">{t('critical.atc')}</label>
        <input id="kj-atc" value={atc} onChange={(e) => setAtc(e.target.value)} aria-invalid={tried && !atcValid} aria-describedby={tried && !atcValid ? 'kj-atc-error' : undefined} />
        {tried && !atcValid && (
          <p id="kj-atc-error" className="kj-field-error">
            {t('critical.atc.invalid')}
          </p>
        )}
      </div>
      <div>
        <label htmlFor="kj-drug">{t('critical.drugName')}</label>
        <input id="kj-drug" value={drug} onChange={(e) => setDrug(e.target.value)} aria-invalid={tried && !drug.trim()} />
      </div>
      <div>
        <label htmlFor="kj-manifestation">{t('critical.manifestation')}</label>
        <input id="kj-manifestation" value={manifestation} onChange={(e) => setManifestation(e.target.value)} />
      </div>
      <div>
        <label htmlFor="kj-certainty">{t('critical.certainty')}</label>
        <select id="kj-certainty" value={certainty} onChange={(e) => setCertainty(e.target.value as (typeof CERTAINTIES)[number])}>
          {CERTAINTIES.map((c) => (
            <option key={c} value={c}>
              {t(`certainty.${c}`)}
            </option>
          ))}
        </select>
      </div>
      <div>
        <Button type="submit" testId="register-submit" disabled={busy}>
          {t('critical.save')}
        </Button>
      </div>
      {result.ok && (
        <NotificationPanel variant="success" role="status" testId="register-saved">
          {t('critical.saved')}
        </NotificationPanel>
      )}
      {result.error !== undefined && <ErrorMessage error={result.error} testId="register-error" />}
    </form>
  );
}
