import { useState, type FormEvent } from 'react';
import Button from '@helsenorge/designsystem-react/components/Button';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import Title from '@helsenorge/designsystem-react/components/Title';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import { ApiError } from '../../shared/fhir.ts';
import type { PatientContext } from '../PatientRecord.tsx';
import { conceptText, ScrollTable, Section } from './Section.tsx';

const LIST_TYPE = 'https://samhandling.dev/fhir/CodeSystem/list-type';
/** Doctors reconcile the PLL (the server decides: MEDICATION_PLL_CATEGORIES); this only hides the form. */
const RECONCILING = ['LE'];

interface Pll {
  list?: any;
  version?: string;
  entries: any[];
  loose: any[];
}

const listOf = (resources: any[], code: string) => resources.find((r) => r.resourceType === 'List' && r.code?.coding?.some((c: any) => c.system === LIST_TYPE && c.code === code));
const idOfRef = (ref: string | undefined) => ref?.split('/')[1];
const medicationText = (r: any) => r.medicationReference?.display ?? conceptText(r.medicationCodeableConcept);
const dosageText = (r: any) => (r.dosage ?? r.dosageInstruction ?? []).map((d: any) => d.text).filter(Boolean).join('; ');
const isOpen = (s: any) => s.status === 'active' || s.status === 'on-hold';

/**
 * Pasientens legemiddelliste: the current version (GET /$medication-list) and reconciliation
 * against exactly that version (POST /$medication-list with If-Match): the doctor confirms the
 * list, may discontinue entries and take loose prescriptions onto it.
 */
export function MedicationList({ client, me }: PatientContext) {
  const { t, formatDate } = useI18n();
  const load = async (): Promise<Pll> => {
    const res = await client.request('/$medication-list');
    const bundle = await res.json();
    const resources = (bundle.entry ?? []).map((e: any) => e.resource).filter(Boolean);
    const list = listOf(resources, 'pll');
    const loose = listOf(resources, 'loose-prescriptions');
    const byRef = new Map(resources.map((r: any) => [`${r.resourceType}/${r.id}`, r]));
    const resolve = (ref: string | undefined) => (ref ? byRef.get(ref.replace(/\/_history\/.*$/, '')) : undefined);
    return {
      list,
      version: list?.meta?.versionId ?? res.headers.get('etag')?.replace(/^W\/"|"$/g, '') ?? undefined,
      entries: (list?.entry ?? []).map((e: any) => resolve(e.item?.reference)).filter(Boolean),
      loose: (loose?.entry ?? []).map((e: any) => resolve(e.item?.reference)).filter(Boolean),
    };
  };
  return (
    <Section id="medication" title={t('section.medication')} load={load}>
      {(pll, reload) => (
        <div className="sh-stack">
          {pll.list ? (
            <p data-testid="pll-version">{t('pll.version', { version: pll.version ?? '?', date: formatDate(pll.list.date, true) })}</p>
          ) : (
            <p>{t('pll.none')}</p>
          )}
          {pll.entries.length > 0 && (
            <ScrollTable label={t('section.medication')} testId="pll-entries" columns={[t('pll.drug'), t('pll.dosage'), t('pll.status')]}>
                  {pll.entries.map((s) => (
                    <tr key={s.id}>
                      <td>{medicationText(s)}</td>
                      <td>{dosageText(s)}</td>
                      <td>{t(`pll.status.${s.status}`)}</td>
                    </tr>
                  ))}
            </ScrollTable>
          )}
          {pll.loose.length > 0 && (
            <>
              <Title htmlMarkup="h3" appearance="title4">
                {t('pll.loose')}
              </Title>
              <ul data-testid="pll-loose">
                {pll.loose.map((rx) => (
                  <li key={rx.id}>
                    {medicationText(rx)} {dosageText(rx) && `(${dosageText(rx)})`}
                  </li>
                ))}
              </ul>
            </>
          )}
          {me.authorisation && RECONCILING.includes(me.authorisation) && (pll.list || pll.loose.length > 0) && <Reconcile key={pll.version ?? 'none'} client={client} pll={pll} onDone={reload} />}
        </div>
      )}
    </Section>
  );
}

function Reconcile({ client, pll, onDone }: { client: PatientContext['client']; pll: Pll; onDone: () => void }) {
  const { t } = useI18n();
  const [confirmed, setConfirmed] = useState(false);
  const [stop, setStop] = useState<Set<string>>(new Set());
  const [add, setAdd] = useState<Set<string>>(new Set());
  const [state, setState] = useState<{ busy?: boolean; done?: string; error?: unknown; tried?: boolean }>({});
  const toggle = (set: Set<string>, id: string, on: boolean) => {
    const next = new Set(set);
    if (on) next.add(id);
    else next.delete(id);
    return next;
  };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setState({ tried: true });
    if (!confirmed) return;
    setState({ busy: true });
    // Every open entry of the version read is taken a position on: kept as it is, or discontinued.
    const kept = pll.entries.filter(isOpen).map((s) => {
      const { meta: _meta, ...entry } = s;
      return stop.has(s.id) ? { ...entry, status: 'stopped' } : entry;
    });
    const added = pll.loose
      .filter((rx) => add.has(rx.id))
      .map((rx) => ({
        resourceType: 'MedicationStatement',
        status: 'active',
        basedOn: [{ reference: `MedicationRequest/${rx.id}` }],
        ...(rx.medicationReference ? { medicationReference: rx.medicationReference } : { medicationCodeableConcept: rx.medicationCodeableConcept }),
        ...(rx.dosageInstruction ? { dosage: rx.dosageInstruction } : {}),
        subject: rx.subject,
      }));
    try {
      // Submitted against the version read (parameter `version`, as If-Match would): a change made meanwhile is a 412.
      const res = await client.request('/$medication-list', {
        method: 'POST',
        body: {
          resourceType: 'Parameters',
          parameter: [...(pll.version ? [{ name: 'version', valueInteger: Number(pll.version) }] : []), ...[...kept, ...added].map((resource) => ({ name: 'entry', resource }))],
        },
      });
      const bundle = await res.json();
      const list = listOf((bundle.entry ?? []).map((x: any) => x.resource).filter(Boolean), 'pll');
      setState({ done: list?.meta?.versionId ?? '' });
      setConfirmed(false);
      setStop(new Set());
      setAdd(new Set());
    } catch (error) {
      setState({ error });
    }
  }

  const stale = state.error instanceof ApiError && state.error.code === 'pll-stale-version';
  return (
    <form className="kj-form kj-native" onSubmit={submit} noValidate aria-labelledby="reconcile-title" data-testid="pll-reconcile">
      <Title htmlMarkup="h3" appearance="title4" id="reconcile-title">
        {t('pll.reconcileTitle')}
      </Title>
      {pll.entries.filter(isOpen).length > 0 && (
        <fieldset className="kj-radios">
          <legend>{t('pll.discontinue')}</legend>
          {pll.entries.filter(isOpen).map((s) => (
            <label key={s.id}>
              <input type="checkbox" checked={stop.has(s.id)} onChange={(e) => setStop(toggle(stop, s.id, e.target.checked))} />
              <span>{medicationText(s)}</span>
            </label>
          ))}
        </fieldset>
      )}
      {pll.loose.length > 0 && (
        <fieldset className="kj-radios">
          <legend>{t('pll.addLoose')}</legend>
          {pll.loose.map((rx) => (
            <label key={rx.id}>
              <input type="checkbox" checked={add.has(rx.id)} onChange={(e) => setAdd(toggle(add, rx.id, e.target.checked))} />
              <span>{medicationText(rx)}</span>
            </label>
          ))}
        </fieldset>
      )}
      <div className="kj-radios">
        <label>
          <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} aria-invalid={state.tried && !confirmed} aria-describedby={state.tried && !confirmed ? 'pll-confirm-error' : undefined} data-testid="pll-confirm" />
          <span>{t('pll.confirm')}</span>
        </label>
        {state.tried && !confirmed && (
          <p id="pll-confirm-error" className="kj-field-error">
            {t('pll.confirm.missing')}
          </p>
        )}
      </div>
      <div>
        <Button type="submit" testId="pll-submit" disabled={state.busy}>
          {t('pll.reconcile')}
        </Button>
      </div>
      {state.done !== undefined && (
        <NotificationPanel variant="success" role="status" testId="pll-reconciled">
          {t('pll.reconciled', { version: state.done })}
          <p>
            <Button variant="borderless" onClick={onDone}>
              {t('pll.reload')}
            </Button>
          </p>
        </NotificationPanel>
      )}
      {state.error !== undefined && (
        <>
          <ErrorMessage error={state.error} testId="pll-error" />
          {stale && (
            <Button variant="outline" onClick={onDone} testId="pll-reload">
              {t('pll.reload')}
            </Button>
          )}
        </>
      )}
    </form>
  );
}
