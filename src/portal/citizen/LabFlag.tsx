import type { Observation } from '@medplum/fhirtypes';
import { useI18n } from '../shared/i18n.tsx';
import { flagOf } from './lab.ts';

/** High/low/abnormal in words and colour, never by colour alone. */
export function LabFlag({ o }: { o: Observation }) {
  const { t } = useI18n();
  const flag = flagOf(o);
  if (!flag) return null;
  return (
    <span className={`sh-tag sh-tag-${flag}`} data-flag={flag}>
      {t(`lab.flag.${flag}`)}
    </span>
  );
}
