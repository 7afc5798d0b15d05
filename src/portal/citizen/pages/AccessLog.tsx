import { useState } from 'react';
import Title from '@helsenorge/designsystem-react/components/Title';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import Button from '@helsenorge/designsystem-react/components/Button';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import { useCitizen } from '../context.tsx';
import { useLoad } from '../useLoad.ts';
import { DataTable } from '../DataTable.tsx';

interface Entry {
  when: string;
  who: { kind: string; id: string | null; roleName?: { nb: string; en: string } };
  organisation: string | null;
  what: { service: string; nb: string; en: string; count: number }[];
  basisText?: { nb: string; en: string };
  basis: string | null;
  emergency: boolean;
  /** The reason the health professional gave, e.g. for an emergency. */
  reason?: string;
  outcome: string;
  text: { nb: string; en: string };
}

const PAGE = 25;

/** "Who has looked at my data" (GET /fhir/$access-log), newest first. */
export function AccessLog() {
  const { t, lang, formatDate } = useI18n();
  const { fhir, person } = useCitizen();
  const [pages, setPages] = useState(1);
  const load = useLoad(() => fhir.json<{ total: number; entries: Entry[] }>(`/$access-log?_count=${PAGE * pages}`), [fhir, person.nin, pages]);
  const who = (e: Entry) => {
    if (e.who.kind === 'practitioner') return `${e.who.roleName?.[lang] ?? t('log.professional')} (HPR ${e.who.id})`;
    if (e.who.kind === 'citizen') return e.who.id === person.nin ? t('log.you') : t('log.representative', { nin: e.who.id ?? '' });
    if (e.who.kind === 'system') return t('log.system', { id: e.who.id ?? '' });
    return e.who.id ?? '';
  };
  return (
    <div className="sh-stack">
      <Title htmlMarkup="h1">{t('nav.accessLog')}</Title>
      <p>{t('log.intro')}</p>
      {load.error ? (
        <ErrorMessage error={load.error} />
      ) : !load.data ? (
        <Loader ariaLabel={t('loading')} />
      ) : load.data.entries.length === 0 ? (
        <NotificationPanel variant="info" label={t('log.none')} testId="log-empty" />
      ) : (
        <>
          <p className="sh-subtle">{t('log.count', { shown: load.data.entries.length, total: load.data.total })}</p>
          <DataTable
            caption={t('nav.accessLog')}
            testId="access-log"
            columns={[t('log.col.when'), t('log.col.who'), t('log.col.org'), t('log.col.what'), t('log.col.basis')]}
            rows={load.data.entries.map((e, i) => ({
              key: `${e.when}-${i}`,
              testId: e.emergency ? 'log-entry-emergency' : 'log-entry',
              cells: [
                formatDate(e.when, true),
                who(e),
                e.organisation ?? '',
                <>
                  {e.what.length ? e.what.map((w) => `${w[lang]} (${w.count})`).join(', ') : t('log.yourData')}
                  {e.outcome !== 'success' && <div className="sh-tag sh-tag-abnormal">{t('log.refused')}</div>}
                </>,
                <>
                  {e.basisText?.[lang] ?? e.basis ?? ''}
                  {e.emergency && <div className="sh-tag sh-tag-high">{t('log.emergency')}</div>}
                  {e.reason && <div data-testid="log-reason">{t('log.reason', { reason: e.reason })}</div>}
                </>,
              ],
            }))}
          />
          {load.data.entries.length < load.data.total && (
            <Button variant="outline" onClick={() => setPages((n) => n + 1)} testId="log-more">
              {t('log.more')}
            </Button>
          )}
        </>
      )}
    </div>
  );
}
