import Select from '@helsenorge/designsystem-react/components/Select';
import { useI18n } from '../shared/i18n.tsx';
import type { Represented } from './context.tsx';

/** "Whom am I acting for": offers exactly the people the server says the citizen may represent. */
export function ActFor({ people, current, onChange }: { people: Represented[]; current: Represented; onChange: (nin: string) => void }) {
  const { t } = useI18n();
  return (
    <div className="sh-actfor">
      <Select
        selectId="act-for"
        testId="act-for"
        label={t("actFor.label")}
        value={current.nin}
        onChange={(e) => onChange(e.target.value)}
        onColor="ondark"
      >
        {people.map((p) => (
          <option key={p.nin} value={p.nin}>
            {p.relation === 'self' ? t('actFor.self', { name: p.name }) : `${p.name} (${t(`relation.${p.relation}`)})`}
          </option>
        ))}
      </Select>
    </div>
  );
}
