import { useI18n } from '../../shared/i18n.tsx';
import type { PatientContext } from '../PatientRecord.tsx';
import { conceptText, ScrollTable, Section } from './Section.tsx';

const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory';

function valueText(o: any): string {
  if (o.valueQuantity) return `${o.valueQuantity.value ?? ''} ${o.valueQuantity.unit ?? o.valueQuantity.code ?? ''}`.trim();
  if (o.valueString) return o.valueString;
  if (o.valueCodeableConcept) return conceptText(o.valueCodeableConcept);
  return '';
}

function rangeText(o: any): string {
  const r = o.referenceRange?.[0];
  if (!r) return '';
  if (r.text) return r.text;
  const low = r.low?.value;
  const high = r.high?.value;
  const unit = r.low?.unit ?? r.high?.unit ?? '';
  return `${low ?? ''}–${high ?? ''} ${unit}`.trim();
}

/** Pasientens prøvesvar: the newest laboratory results with reference range and flag. */
export function LabResults({ client, patient }: PatientContext) {
  const { t, formatDate } = useI18n();
  const load = () => client.search(`/Observation?patient=${encodeURIComponent(`Patient/${patient.id}`)}&category=${encodeURIComponent(LAB)}&_sort=-date&_count=50`, 1);
  return (
    <Section id="lab" title={t('section.lab')} load={load}>
      {(observations) =>
        observations.length === 0 ? (
          <p>{t('section.empty')}</p>
        ) : (
          <ScrollTable label={t('section.lab')} testId="lab-results" columns={[t('lab.analyte'), t('lab.value'), t('lab.range'), t('lab.date')]}>
                {observations.map((o: any) => {
                  const flag = o.interpretation?.[0]?.coding?.[0]?.code as string | undefined;
                  const flagKey = flag && ['H', 'HH', 'L', 'LL', 'A', 'AA', 'N'].includes(flag) ? flag[0] : undefined;
                  return (
                    <tr key={o.id}>
                      <td>{conceptText(o.code)}</td>
                      <td>
                        {valueText(o)}{' '}
                        {flagKey && flagKey !== 'N' && <span className={`sh-tag sh-tag-${flagKey === 'H' ? 'high' : flagKey === 'L' ? 'low' : 'abnormal'}`}>{t(`lab.flag.${flagKey}`)}</span>}
                      </td>
                      <td>{rangeText(o)}</td>
                      <td>{formatDate(o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.issued)}</td>
                    </tr>
                  );
                })}
          </ScrollTable>
        )
      }
    </Section>
  );
}
