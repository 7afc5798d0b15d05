import Title from '@helsenorge/designsystem-react/components/Title';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import Tabs from '@helsenorge/designsystem-react/components/Tabs';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import type { Bundle, CodeableConcept, List, MedicationDispense, MedicationRequest, MedicationStatement, Reference, Resource } from '@medplum/fhirtypes';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import { useCitizen } from '../context.tsx';
import { useLoad } from '../useLoad.ts';
import { conceptText, quantityText, referenceText } from '../fhir-format.ts';
import { DataTable } from '../DataTable.tsx';

const LIST_TYPE = 'https://samhandling.dev/fhir/CodeSystem/list-type';
const PAUSED = 'https://samhandling.dev/fhir/StructureDefinition/pll-paused';

type WithMedication = { medicationCodeableConcept?: CodeableConcept; medicationReference?: Reference };

const listOf = (resources: Resource[], code: string) => resources.find((r): r is List => r.resourceType === 'List' && !!r.code?.coding?.some((c) => c.system === LIST_TYPE && c.code === code));

/**
 * The medication list (PLL) as the medication service shows it (GET /fhir/$medication-list: the
 * current version, its entries, whether it is paused, and the prescriptions on no entry), plus all
 * prescriptions and dispenses.
 */
export function Medication() {
  const { t, formatDate } = useI18n();
  const { fhir, person } = useCitizen();
  const p = person.patientId;
  const load = useLoad(async () => {
    const [view, requests, dispenses] = await Promise.all([
      fhir.json<Bundle>('/$medication-list'),
      fhir.search<MedicationRequest>(`/MedicationRequest?subject=${p}&_sort=-authoredon`),
      fhir.search<MedicationDispense>(`/MedicationDispense?subject=${p}`),
    ]);
    const resources = (view.entry ?? []).map((e) => e.resource).filter((r): r is Resource => !!r);
    const pll = listOf(resources, 'pll');
    const byId = new Map(resources.map((r) => [`${r.resourceType}/${r.id}`, r]));
    // Entries name a version (MedicationStatement/<id>/_history/<v>); the view carries that version.
    const statements = (pll?.entry ?? []).map((e) => byId.get((e.item.reference ?? '').split('/_history/')[0])).filter((r): r is MedicationStatement => r?.resourceType === 'MedicationStatement');
    const loose = (listOf(resources, 'loose-prescriptions')?.entry ?? []).map((e) => byId.get(e.item.reference ?? '')).filter((r): r is MedicationRequest => r?.resourceType === 'MedicationRequest');
    const paused = pll?.extension?.find((e) => e.url === PAUSED);
    const pause = paused && { since: paused.extension?.find((e) => e.url === 'start')?.valueDateTime, reason: paused.extension?.find((e) => e.url === 'reason')?.valueString };
    return { pll, statements, loose, pause, requests, dispenses };
  }, [fhir, p]);

  const nameOf = (x: WithMedication) =>
    // Citizens cannot read the catalogue; the service copies the drug's name to medicationReference.display.
    x.medicationCodeableConcept ? conceptText(x.medicationCodeableConcept) : referenceText(x.medicationReference);
  const dosage = (d: { text?: string }[] | undefined) => d?.map((x) => x.text).filter(Boolean).join('; ') ?? '';

  if (load.error) return <Page><ErrorMessage error={load.error} /></Page>;
  if (!load.data) return <Page><Loader ariaLabel={t('loading')} /></Page>;
  const { pll, statements, loose, pause, requests, dispenses } = load.data;
  return (
    <Page>
      <Tabs>
        <Tabs.Tab title={t('med.tab.pll')}>
          <div className="sh-stack" data-testid="pll">
            {pll?.date && <p className="sh-subtle">{t('med.pll.updated', { date: formatDate(pll.date), version: pll.meta?.versionId ?? '' })}</p>}
            {pause && (
              <NotificationPanel variant="warn" label={t('med.pll.paused', { date: formatDate(pause.since) })} testId="pll-paused">
                {pause.reason && <p>{t('med.pll.pausedReason', { reason: pause.reason })}</p>}
                <p>{t('med.pll.pausedEffect')}</p>
              </NotificationPanel>
            )}
            {statements.length === 0 ? (
              <NotificationPanel variant="info" label={t('med.pll.none')} />
            ) : (
              <DataTable
                caption={t('med.tab.pll')}
                testId="pll-table"
                columns={[t('med.col.medicine'), t('med.col.dosage'), t('med.col.status'), t('med.col.period')]}
                rows={statements.map((s) => ({
                  key: s.id!,
                  cells: [nameOf(s), dosage(s.dosage), t(`status.${s.status}`), [formatDate(s.effectivePeriod?.start ?? s.effectiveDateTime), formatDate(s.effectivePeriod?.end)].filter(Boolean).join(' – ')],
                }))}
              />
            )}
            {loose.length > 0 && (
              <div className="sh-stack" data-testid="pll-loose">
                <Title htmlMarkup="h2" appearance="title4">
                  {t('med.loose.title')}
                </Title>
                <p>{t('med.loose.text')}</p>
                <DataTable
                  caption={t('med.loose.title')}
                  columns={[t('med.col.medicine'), t('med.col.dosage'), t('med.col.prescribed')]}
                  rows={loose.map((r) => ({ key: r.id!, cells: [nameOf(r), dosage(r.dosageInstruction), formatDate(r.authoredOn)] }))}
                />
              </div>
            )}
          </div>
        </Tabs.Tab>
        <Tabs.Tab title={t('med.tab.prescriptions')}>
          {requests.length === 0 ? (
            <NotificationPanel variant="info" label={t('med.prescriptions.none')} />
          ) : (
            <DataTable
              caption={t('med.tab.prescriptions')}
              testId="prescriptions-table"
              columns={[t('med.col.medicine'), t('med.col.dosage'), t('med.col.status'), t('med.col.prescribed'), t('med.col.prescriber')]}
              rows={requests.map((r) => ({ key: r.id!, cells: [nameOf(r), dosage(r.dosageInstruction), t(`status.${r.status}`), formatDate(r.authoredOn), referenceText(r.requester)] }))}
            />
          )}
        </Tabs.Tab>
        <Tabs.Tab title={t('med.tab.dispenses')}>
          {dispenses.length === 0 ? (
            <NotificationPanel variant="info" label={t('med.dispenses.none')} />
          ) : (
            <DataTable
              caption={t('med.tab.dispenses')}
              testId="dispenses-table"
              columns={[t('med.col.medicine'), t('med.col.quantity'), t('med.col.dispensed'), t('med.col.pharmacy')]}
              rows={dispenses.map((d) => ({
                key: d.id!,
                cells: [nameOf(d), quantityText(d.quantity), formatDate(d.whenHandedOver ?? d.whenPrepared), referenceText(d.performer?.[0]?.actor) || referenceText(d.location)],
              }))}
            />
          )}
        </Tabs.Tab>
      </Tabs>
    </Page>
  );
}

function Page({ children }: { children: React.ReactNode }) {
  const { t } = useI18n();
  return (
    <div className="sh-stack">
      <Title htmlMarkup="h1">{t('nav.medication')}</Title>
      <p>{t('med.intro')}</p>
      {children}
    </div>
  );
}
