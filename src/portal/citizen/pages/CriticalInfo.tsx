import Title from '@helsenorge/designsystem-react/components/Title';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import type { AllergyIntolerance, Bundle, Condition, Flag, Procedure } from '@medplum/fhirtypes';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import { useCitizen } from '../context.tsx';
import { useLoad } from '../useLoad.ts';
import { conceptText, referenceText } from '../fhir-format.ts';
import { DataTable } from '../DataTable.tsx';

const SD = 'https://samhandling.dev/fhir/StructureDefinition/';
const EXT = { state: `${SD}kj-entry-state`, certainty: `${SD}kj-certainty`, validUntil: `${SD}kj-valid-until` };

interface Item {
  id: string;
  kind: string;
  text: string;
  /** active | inactive, as the service decides it at the server's time (validity, status, validUntil). */
  state: string;
  certainty?: string;
  date?: string;
  validUntil?: string;
  recorder?: string;
  reactions?: string;
}

type KjResource = AllergyIntolerance | Condition | Procedure | Flag;

const extension = (r: { extension?: { url: string; valueCode?: string; valueCoding?: { code?: string }; valueDateTime?: string }[] }, url: string) =>
  r.extension?.find((e) => e.url === url);

function itemOf(r: KjResource, state: string): Item {
  const base = { id: `${r.resourceType}/${r.id}`, state, validUntil: extension(r, EXT.validUntil)?.valueDateTime };
  switch (r.resourceType) {
    case 'AllergyIntolerance':
      return {
        ...base,
        kind: r.category?.includes('medication') ? 'critical.kind.drug' : 'critical.kind.allergy',
        text: conceptText(r.code),
        certainty: extension(r, EXT.certainty)?.valueCoding?.code ?? r.verificationStatus?.coding?.[0]?.code,
        date: r.recordedDate ?? r.onsetDateTime,
        recorder: referenceText(r.recorder),
        reactions: (r.reaction ?? []).flatMap((x) => x.manifestation.map(conceptText)).join(', '),
      };
    case 'Condition':
      return { ...base, kind: 'critical.kind.condition', text: conceptText(r.code), certainty: r.verificationStatus?.coding?.[0]?.code, date: r.recordedDate ?? r.onsetDateTime, recorder: referenceText(r.recorder) };
    case 'Procedure':
      return { ...base, kind: 'critical.kind.procedure', text: conceptText(r.code), date: r.performedDateTime ?? r.performedPeriod?.start, recorder: referenceText(r.recorder) };
    case 'Flag':
      return { ...base, kind: 'critical.kind.flag', text: conceptText(r.code), date: r.period?.start, recorder: referenceText(r.author) };
  }
}

/**
 * Critical information (Kjernejournal) from the service's own view, GET /fhir/$critical-information:
 * active entries first, then inactive ones (refuted, ended, past their validUntil) marked as such.
 */
export function CriticalInfo() {
  const { t, formatDate } = useI18n();
  const { fhir, person } = useCitizen();
  const load = useLoad(async () => {
    const bundle = await fhir.json<Bundle<KjResource>>('/$critical-information');
    return (bundle.entry ?? []).filter((e) => e.resource).map((e) => itemOf(e.resource!, (e as any).extension?.find((x: any) => x.url === EXT.state)?.valueCode ?? 'active'));
  }, [fhir, person.nin]);

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
          rows={load.data.map((i) => ({
            key: i.id,
            testId: `critical-${i.state}`,
            cells: [
              t(i.kind),
              <>
                {i.text}
                {i.reactions && <div className="sh-subtle">{t('critical.reaction')}: {i.reactions}</div>}
              </>,
              i.certainty ? t(`certainty.${i.certainty}`) : '',
              <span className={i.state === 'active' ? '' : 'sh-tag sh-tag-inactive'}>{t(`status.${i.state}`)}</span>,
              <>
                {formatDate(i.date)}
                {i.recorder && <div className="sh-subtle">{i.recorder}</div>}
                {i.validUntil && <div className="sh-subtle">{t('critical.validUntil', { date: formatDate(i.validUntil) })}</div>}
              </>,
            ],
          }))}
        />
      )}
    </div>
  );
}
