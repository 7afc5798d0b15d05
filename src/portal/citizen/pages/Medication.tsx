import Title from '@helsenorge/designsystem-react/components/Title';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import Tabs from '@helsenorge/designsystem-react/components/Tabs';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import type { List, Medication as Med, MedicationDispense, MedicationRequest, MedicationStatement, Reference, CodeableConcept } from '@medplum/fhirtypes';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import { useCitizen } from '../context.tsx';
import { useLoad } from '../useLoad.ts';
import { conceptText, quantityText, referenceText } from '../fhir-format.ts';
import { DataTable } from '../DataTable.tsx';

const PLL_CODE = 'https://samhandling.dev/fhir/CodeSystem/list-type|pll';

type WithMedication = { medicationCodeableConcept?: CodeableConcept; medicationReference?: Reference };

/** The medication list (PLL), prescriptions and dispenses. */
export function Medication() {
  const { t, formatDate } = useI18n();
  const { fhir, person } = useCitizen();
  const p = person.patientId;
  const load = useLoad(async () => {
    const [lists, statements, requests, dispenses] = await Promise.all([
      fhir.search<List>(`/List?subject=${p}&code=${encodeURIComponent(PLL_CODE)}`),
      fhir.search<MedicationStatement | Med>(`/MedicationStatement?subject=${p}&_include=MedicationStatement:medication`),
      fhir.search<MedicationRequest | Med>(`/MedicationRequest?subject=${p}&_sort=-authoredon&_include=MedicationRequest:medication`),
      fhir.search<MedicationDispense | Med>(`/MedicationDispense?subject=${p}&_include=MedicationDispense:medication`),
    ]);
    const meds = new Map<string, Med>();
    for (const r of [...statements, ...requests, ...dispenses]) if (r.resourceType === 'Medication') meds.set(`Medication/${r.id}`, r);
    const pll = lists.find((l) => l.status === 'current') ?? lists[0];
    const onList = new Set((pll?.entry ?? []).map((e) => e.item.reference));
    return {
      meds,
      pll,
      statements: statements.filter((s): s is MedicationStatement => s.resourceType === 'MedicationStatement' && (!pll || onList.has(`MedicationStatement/${s.id}`))),
      requests: requests.filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest'),
      dispenses: dispenses.filter((d): d is MedicationDispense => d.resourceType === 'MedicationDispense'),
    };
  }, [fhir, p]);

  const nameOf = (x: WithMedication) =>
    x.medicationCodeableConcept ? conceptText(x.medicationCodeableConcept) : conceptText(load.data?.meds.get(x.medicationReference?.reference ?? '')?.code) || referenceText(x.medicationReference);
  const dosage = (d: { text?: string }[] | undefined) => d?.map((x) => x.text).filter(Boolean).join('; ') ?? '';

  if (load.error) return <Page><ErrorMessage error={load.error} /></Page>;
  if (!load.data) return <Page><Loader ariaLabel={t('loading')} /></Page>;
  const { pll, statements, requests, dispenses } = load.data;
  return (
    <Page>
      <Tabs>
        <Tabs.Tab title={t('med.tab.pll')}>
          <div className="sh-stack" data-testid="pll">
            {pll?.date && <p className="sh-subtle">{t('med.pll.updated', { date: formatDate(pll.date), version: pll.meta?.versionId ?? '' })}</p>}
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
