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
const SERVICE_TAG = 'https://samhandling.dev/fhir/CodeSystem/service|critical-information';
const ATC = 'http://www.whocc.no/atc';
const HPR = 'urn:oid:2.16.578.1.12.4.1.4.4';
const CERTAINTIES = ['unconfirmed', 'presumed', 'confirmed'] as const;
/** HPR authorisations that register critical information (the server decides; this only hides the form). */
const REGISTERING = ['LE'];

interface CriticalData {
  reactions: any[];
  other: any[];
}

const certaintyOf = (r: any): string | undefined =>
  r.extension?.find((e: any) => e.url === CERTAINTY_EXT)?.valueCoding?.code ?? r.verificationStatus?.coding?.[0]?.code;

const isActive = (r: any) => (r.clinicalStatus?.coding?.[0]?.code ?? 'active') === 'active' && r.verificationStatus?.coding?.[0]?.code !== 'entered-in-error';

/** Pasientens kritiske informasjon: drug reactions first, then the rest; doctors register drug reactions here. */
export function CriticalInfo({ client, patient, me }: PatientContext) {
  const { t, formatDate } = useI18n();
  const load = async (): Promise<CriticalData> => {
    const pid = encodeURIComponent(`Patient/${patient.id}`);
    const [allergies, conditions, procedures, flags] = await Promise.all([
      client.search(`/AllergyIntolerance?patient=${pid}`),
      client.search(`/Condition?patient=${pid}&_tag=${encodeURIComponent(SERVICE_TAG)}`),
      client.search(`/Procedure?patient=${pid}&_tag=${encodeURIComponent(SERVICE_TAG)}`),
      client.search(`/Flag?patient=${pid}`),
    ]);
    return {
      reactions: allergies.filter((a: any) => a.category?.includes('medication')),
      other: [...allergies.filter((a: any) => !a.category?.includes('medication')), ...conditions, ...procedures, ...flags],
    };
  };
  return (
    <Section id="critical" title={t('section.critical')} load={load}>
      {(data, reload) => (
        <div className="sh-stack">
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
                      <td>{t(isActive(r) ? 'status.active' : 'status.inactive')}</td>
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
                  {conceptText(r.code)} {r.category?.[0] && typeof r.category[0] === 'object' ? `(${conceptText(r.category[0])})` : ''}
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
