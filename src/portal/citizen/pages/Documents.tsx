import { useState } from 'react';
import Title from '@helsenorge/designsystem-react/components/Title';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import Button from '@helsenorge/designsystem-react/components/Button';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import type { DocumentReference } from '@medplum/fhirtypes';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import { useCitizen } from '../context.tsx';
import { useLoad } from '../useLoad.ts';
import { conceptText, referenceText } from '../fhir-format.ts';
import { DataTable } from '../DataTable.tsx';

/** The path under /fhir of a document's content (IHE ITI-68), from the attachment URL. */
export function contentPath(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const i = url.indexOf('/fhir/');
  if (i >= 0) return url.slice(i + '/fhir'.length);
  return url.startsWith('Binary/') ? `/${url}` : undefined;
}

/** Journal documents from hospitals, GPs and municipalities; the content is fetched with the token and opened as a blob URL. */
export function Documents() {
  const { t, formatDate } = useI18n();
  const { fhir, person } = useCitizen();
  const p = person.patientId;
  const load = useLoad(() => fhir.search<DocumentReference>(`/DocumentReference?patient=${p}&_sort=-date`), [fhir, p]);
  const [opened, setOpened] = useState<{ id: string; url: string; title: string }>();
  const [openError, setOpenError] = useState<unknown>();
  const [busy, setBusy] = useState<string>();

  async function open(doc: DocumentReference) {
    const attachment = doc.content?.[0]?.attachment;
    const path = contentPath(attachment?.url);
    if (!path) return;
    setBusy(doc.id);
    setOpenError(undefined);
    try {
      const blob = await fhir.blob(path);
      const url = URL.createObjectURL(blob);
      if (opened) URL.revokeObjectURL(opened.url);
      setOpened({ id: doc.id!, url, title: attachment?.title ?? doc.description ?? conceptText(doc.type) });
      window.open(url, '_blank', 'noopener');
    } catch (err) {
      setOpenError(err);
    } finally {
      setBusy(undefined);
    }
  }

  const docs = (load.data ?? []).filter((d) => d.status !== 'entered-in-error');
  return (
    <div className="sh-stack">
      <Title htmlMarkup="h1">{t('nav.documents')}</Title>
      <p>{t('docs.intro')}</p>
      {openError ? <ErrorMessage error={openError} /> : null}
      {opened && (
        <NotificationPanel variant="success" label={t('docs.opened')} testId="document-opened">
          <a href={opened.url} target="_blank" rel="noopener" data-testid="document-link">
            {t('docs.openAgain', { title: opened.title })}
          </a>
        </NotificationPanel>
      )}
      {load.error ? (
        <ErrorMessage error={load.error} />
      ) : !load.data ? (
        <Loader ariaLabel={t('loading')} />
      ) : docs.length === 0 ? (
        <NotificationPanel variant="info" label={t('docs.none')} testId="documents-empty" />
      ) : (
        <DataTable
          caption={t('nav.documents')}
          testId="documents-table"
          columns={[t('docs.col.document'), t('docs.col.date'), t('docs.col.from'), t('docs.col.open')]}
          rows={docs.map((d) => ({
            key: d.id!,
            testId: `document-${d.id}`,
            cells: [
              <>
                {d.content?.[0]?.attachment?.title ?? d.description ?? conceptText(d.type)}
                <div className="sh-subtle">{conceptText(d.type)}</div>
              </>,
              formatDate(d.date ?? d.context?.period?.start),
              referenceText(d.custodian) || referenceText(d.author?.[0]),
              contentPath(d.content?.[0]?.attachment?.url) ? (
                <Button variant="outline" onClick={() => open(d)} disabled={busy === d.id} testId={`open-${d.id}`} ariaLabel={t('docs.openLabel', { title: d.content?.[0]?.attachment?.title ?? conceptText(d.type) })}>
                  {t('docs.open')}
                </Button>
              ) : (
                ''
              ),
            ],
          }))}
        />
      )}
    </div>
  );
}
