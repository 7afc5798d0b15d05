import Title from '@helsenorge/designsystem-react/components/Title';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import type { Observation } from '@medplum/fhirtypes';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import { linkHandler } from '../../shared/router.ts';
import { useCitizen } from '../context.tsx';
import { useLoad } from '../useLoad.ts';
import { conceptText } from '../fhir-format.ts';
import { DataTable } from '../DataTable.tsx';
import { LabFlag } from '../LabFlag.tsx';
import { TrendChart } from '../TrendChart.tsx';
import { flagOf, rangeText, valueText, whenOf } from '../lab.ts';

/** One analyte over time: GET /fhir/Observation?patient=…&code=system|code&_sort=date, as a chart and a table. */
export function LabTrend() {
  const { t, formatDate } = useI18n();
  const { fhir, person } = useCitizen();
  const token = new URLSearchParams(location.search).get('code') ?? '';
  const p = person.patientId;
  const load = useLoad(() => fhir.search<Observation>(`/Observation?patient=${p}&code=${encodeURIComponent(token)}&_sort=date&_count=200`), [fhir, p, token]);
  const obs = (load.data ?? []).filter((o) => whenOf(o));
  const latest = obs[obs.length - 1];
  const name = latest ? conceptText(latest.code) : token;
  const numeric = obs.filter((o) => typeof o.valueQuantity?.value === 'number');
  const range = latest?.referenceRange?.[0];
  const unit = numeric[0]?.valueQuantity?.unit ?? numeric[0]?.valueQuantity?.code;
  return (
    <div className="sh-stack">
      <p>
        <a href="/lab-results" onClick={linkHandler('/lab-results')}>
          ← {t('lab.back')}
        </a>
      </p>
      <Title htmlMarkup="h1">{t('lab.trend.title', { name })}</Title>
      {load.error ? (
        <ErrorMessage error={load.error} />
      ) : !load.data ? (
        <Loader ariaLabel={t('loading')} />
      ) : obs.length === 0 ? (
        <NotificationPanel variant="info" label={t('lab.none')} />
      ) : (
        <>
          {numeric.length > 0 ? (
            <TrendChart
              title={t('lab.trend.chartTitle', { name })}
              description={t('lab.trend.chartDesc', { n: numeric.length, from: formatDate(whenOf(numeric[0])), to: formatDate(whenOf(numeric[numeric.length - 1])), range: rangeText(latest.referenceRange) || '–' })}
              unit={unit}
              points={numeric.map((o) => ({ when: whenOf(o)!, value: o.valueQuantity!.value!, flag: flagOf(o) }))}
              low={range?.low?.value}
              high={range?.high?.value}
              formatDate={(d) => formatDate(d)}
              rangeLabel={t('lab.trend.band', { range: rangeText(latest.referenceRange) })}
            />
          ) : (
            <p>{t('lab.trend.notNumeric')}</p>
          )}
          <DataTable
            caption={t('lab.trend.tableCaption', { name })}
            testId="trend-table"
            columns={[t('lab.col.date'), t('lab.col.value'), t('lab.col.range'), t('lab.col.flag')]}
            rows={[...obs].reverse().map((o) => ({ key: o.id!, cells: [formatDate(whenOf(o)), valueText(o), rangeText(o.referenceRange), <LabFlag o={o} />] }))}
          />
        </>
      )}
    </div>
  );
}
