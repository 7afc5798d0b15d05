import Title from '@helsenorge/designsystem-react/components/Title';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import type { AllergyIntolerance, Condition, Flag, Procedure } from '@medplum/fhirtypes';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import { useCitizen } from '../context.tsx';
import { useLoad } from '../useLoad.ts';
import { conceptText, referenceText } from '../fhir-format.ts';
import { DataTable } from '../DataTable.tsx';

const CRITICAL_TAG = 'https://samhandling.dev/fhir/CodeSystem/service|critical-information';

interface Item {
  kind: string;
  text: string;
  status: string;
  certainty?: string;
  date?: string;
  recorder?: string;
  reactions?: string;
}

const statusOf = (c: { clinicalStatus?: any; verificationStatus?: any } | undefined) => c?.clinicalStatus?.coding?.[0]?.code ?? 'active';

/** Critical information (Kjernejournal): reactions and allergies, critical conditions, ongoing treatment, other notes. */
export function CriticalInfo() {
  const { t, formatDate } = useI18n();
  const { fhir, person } = useCitizen();
  const p = person.patientId;
  const load = useLoad(async () => {
    const [allergies, conditions, procedures, flags] = await Promise.all([
      fhir.search<AllergyIntolerance>(`/AllergyIntolerance?patient=${p}`),
      fhir.search<Condition>(`/Condition?patient=${p}&_tag=${encodeURIComponent(CRITICAL_TAG)}`),
      fhir.search<Procedure>(`/Procedure?patient=${p}&_tag=${encodeURIComponent(CRITICAL_TAG)}`),
      fhir.search<Flag>(`/Flag?patient=${p}`),
    ]);
    const items: Item[] = [
      ...allergies.map((a) => ({
        kind: a.category?.includes('medication') ? 'critical.kind.drug' : 'critical.kind.allergy',
        text: conceptText(a.code),
        status: statusOf(a),
        certainty: a.verificationStatus?.coding?.[0]?.code,
        date: a.recordedDate ?? a.onsetDateTime,
        recorder: referenceText(a.recorder),
        reactions: (a.reaction ?? []).flatMap((r) => r.manifestation.map(conceptText)).join(', '),
      })),
      ...conditions.map((c) => ({ kind: 'critical.kind.condition', text: conceptText(c.code), status: statusOf(c), certainty: c.verificationStatus?.coding?.[0]?.code, date: c.recordedDate ?? c.onsetDateTime, recorder: referenceText(c.recorder) })),
      ...procedures.map((x) => ({ kind: 'critical.kind.procedure', text: conceptText(x.code), status: x.status, date: x.performedDateTime ?? x.performedPeriod?.start, recorder: referenceText(x.recorder) })),
      ...flags.map((f) => ({ kind: 'critical.kind.flag', text: conceptText(f.code), status: f.status, date: f.period?.start, recorder: referenceText(f.author) })),
    ];
    return items.filter((i) => i.certainty !== 'entered-in-error' && i.status !== 'entered-in-error');
  }, [fhir, p]);

  return (
    <div className="sh-stack">
      <Title htmlMarkup="h1">{t('nav.critical')}</Title>
      <p>{t('critical.intro')}</p>
      {load.error ? (
        <ErrorMessage error={load.error} />
      ) : !load.data ? (
        <Loader ariaLabel={t('loading')} />
      ) : load.data.length === 0 ? (
        <NotificationPanel variant="info" label={t('critical.none')} testId="critical-empty" />
      ) : (
        <DataTable
          caption={t('nav.critical')}
          testId="critical-table"
          columns={[t('critical.col.kind'), t('critical.col.what'), t('critical.col.certainty'), t('critical.col.status'), t('critical.col.recorded')]}
          rows={load.data.map((i, n) => ({
            key: String(n),
            cells: [
              t(i.kind),
              <>
                {i.text}
                {i.reactions && <div className="sh-subtle">{t('critical.reaction')}: {i.reactions}</div>}
              </>,
              i.certainty ? t(`certainty.${i.certainty}`) : '',
              t(`status.${i.status}`),
              <>
                {formatDate(i.date)}
                {i.recorder && <div className="sh-subtle">{i.recorder}</div>}
              </>,
            ],
          }))}
        />
      )}
    </div>
  );
}
