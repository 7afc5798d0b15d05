import Title from '@helsenorge/designsystem-react/components/Title';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import Expander from '@helsenorge/designsystem-react/components/Expander';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import type { DiagnosticReport, Observation } from '@medplum/fhirtypes';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import { linkHandler } from '../../shared/router.ts';
import { useCitizen } from '../context.tsx';
import { useLoad } from '../useLoad.ts';
import { conceptText, referenceText } from '../fhir-format.ts';
import { DataTable } from '../DataTable.tsx';
import { LabFlag } from '../LabFlag.tsx';
import { analyteToken, rangeText, trendPath, valueText, whenOf } from '../lab.ts';

interface Group {
  key: string;
  title: string;
  date?: string;
  performer?: string;
  observations: Observation[];
}

/** Lab results by report, each analyte with its value, reference range, flag and a link to its trend. */
export function LabResults() {
  const { t, formatDate } = useI18n();
  const { fhir, person } = useCitizen();
  const p = person.patientId;
  const load = useLoad(async () => {
    const [reports, observations] = await Promise.all([
      fhir.search<DiagnosticReport>(`/DiagnosticReport?patient=${p}&_sort=-date`),
      fhir.search<Observation>(`/Observation?patient=${p}&category=laboratory&_sort=-date&_count=200`),
    ]);
    const byRef = new Map(observations.map((o) => [`Observation/${o.id}`, o]));
    const used = new Set<string>();
    const levels = new Map<string, number>();
    const groups: Group[] = reports.map((r) => {
      // Results in report order, each followed by its members (a microbiology isolate's susceptibilities), to any depth.
      const obs: Observation[] = [];
      const add = (refs: { reference?: string }[] | undefined, level: number) => {
        for (const x of refs ?? []) {
          const o = byRef.get(x.reference ?? '');
          if (!o || used.has(o.id!)) continue;
          used.add(o.id!);
          levels.set(o.id!, level);
          obs.push(o);
          add(o.hasMember, level + 1);
        }
      };
      add(r.result, 0);
      return { key: r.id!, title: conceptText(r.code), date: r.effectiveDateTime ?? r.issued, performer: referenceText(r.performer?.[0]), observations: obs };
    });
    const rest = observations.filter((o) => !used.has(o.id!));
    if (rest.length) groups.push({ key: 'other', title: t('lab.other'), observations: rest });
    return { groups, levels };
  }, [fhir, p]);

  return (
    <div className="sh-stack">
      <Title htmlMarkup="h1">{t('nav.lab')}</Title>
      <p>{t('lab.intro')}</p>
      {load.error ? (
        <ErrorMessage error={load.error} />
      ) : !load.data ? (
        <Loader ariaLabel={t('loading')} />
      ) : load.data.groups.length === 0 ? (
        <NotificationPanel variant="info" label={t('lab.none')} testId="lab-empty" />
      ) : (
        <div data-testid="lab-reports">
          {load.data.groups.map((g, i) => (
            <Expander key={g.key} title={[g.title, formatDate(g.date)].filter(Boolean).join(' – ')} expanded={i === 0} testId={`report-${g.key}`}>
              {g.performer && <p className="sh-subtle">{t('lab.performer')}: {g.performer}</p>}
              {g.observations.length === 0 ? (
                <p>{t('lab.pending')}</p>
              ) : (
                <DataTable
                  caption={g.title}
                  columns={[t('lab.col.analyte'), t('lab.col.value'), t('lab.col.range'), t('lab.col.flag'), t('lab.col.date')]}
                  rows={g.observations.map((o) => {
                    const token = analyteToken(o);
                    const level = load.data!.levels.get(o.id!) ?? 0;
                    return {
                      key: o.id!,
                      testId: `observation-${o.id}`,
                      cells: [
                        <span style={level ? { paddingLeft: `${level * 1.25}rem` } : undefined}>
                          {level > 0 && <span aria-hidden="true">↳ </span>}
                          {token ? (
                            <a href={trendPath(token)} onClick={linkHandler(trendPath(token))} data-testid="trend-link">
                              {conceptText(o.code)}
                              <span className="sh-sr"> – {t('lab.showTrend')}</span>
                            </a>
                          ) : (
                            conceptText(o.code)
                          )}
                        </span>,
                        valueText(o),
                        rangeText(o.referenceRange),
                        <LabFlag o={o} />,
                        formatDate(whenOf(o)),
                      ],
                    };
                  })}
                />
              )}
            </Expander>
          ))}
        </div>
      )}
    </div>
  );
}
