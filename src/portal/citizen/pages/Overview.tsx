import Title from '@helsenorge/designsystem-react/components/Title';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import { useI18n } from '../../shared/i18n.tsx';
import { linkHandler } from '../../shared/router.ts';
import { useCitizen } from '../context.tsx';

const CARDS = [
  { path: '/critical-information', service: 'critical-information', key: 'critical' },
  { path: '/medication', service: 'medication', key: 'medication' },
  { path: '/documents', service: 'documents', key: 'documents' },
  { path: '/lab-results', service: 'lab-results', key: 'lab' },
  { path: '/access-log', key: 'accessLog' },
  { path: '/privacy', key: 'privacy' },
];

export function Overview() {
  const { t, lang } = useI18n();
  const { person, has } = useCitizen();
  const self = person.relation === 'self';
  const cards = CARDS.filter((c) => !c.service || has(c.service));
  const closed = person.services.length ? ['critical-information', 'medication', 'documents', 'lab-results'].filter((s) => !has(s)) : [];
  return (
    <div className="sh-stack">
      <Title htmlMarkup="h1">{self ? t('overview.title') : t('overview.titleFor', { name: person.name })}</Title>
      <p data-testid="hello">{self ? t('overview.hello', { name: person.name }) : t('overview.actingFor', { name: person.name, relation: t(`relation.${person.relation}`) })}</p>
      {!self && closed.length > 0 && (
        <NotificationPanel variant="info" label={t('overview.limited.title')} testId="limited-access">
          {t('overview.limited.text', { name: person.name })}
        </NotificationPanel>
      )}
      <ul className="sh-cards">
        {cards.map((c) => (
          <li key={c.path} className="sh-card">
            <a href={c.path} onClick={linkHandler(c.path)}>
              {t(`nav.${c.key}`)}
            </a>
            <p className="sh-subtle">{t(`overview.card.${c.key}`)}</p>
          </li>
        ))}
      </ul>
      <p className="sh-subtle">
        {t('overview.services')}: {person.services.map((s) => s.name[lang]).join(', ')}
      </p>
    </div>
  );
}
