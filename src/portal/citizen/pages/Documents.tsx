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

const titleOf = (d: DocumentReference) => d.content?.[0]?.attachment?.title ?? d.description ?? conceptText(d.type);
/** Restricted by the patient (confidentiality NORS, any system, as the policy matches it). */
const isRestricted = (d: DocumentReference) => (d.meta?.security ?? []).some((s) => s.code === 'NORS');

/**
 * Journal documents from hospitals, GPs and municipalities; the content is fetched with the token
 * and opened as a blob URL. Whoever manages the person's privacy may restrict a document (NORS,
 * POST …/$restrict of the documents service) after reading what that does.
 */
export function Documents() {
  const { t, formatDate } = useI18n();
  const { fhir, person } = useCitizen();
  const p = person.patientId;
  const load = useLoad(() => fhir.search<DocumentReference>(`/DocumentReference?patient=${p}&_sort=-date`), [fhir, p]);
  const [opened, setOpened] = useState<{ id: string; url: string; title: string }>();
  const [openError, setOpenError] = useState<unknown>();
  const [busy, setBusy] = useState<string>();
  // Restricting is confirmed after its effect is shown: which document, and what it does.
  const [confirm, setConfirm] = useState<{ doc: DocumentReference; restrict: boolean }>();
  const [restrictError, setRestrictError] = useState<unknown>();

  async function setRestricted(doc: DocumentReference, restrict: boolean) {
    setBusy(doc.id);
    setRestrictError(undefined);
    try {
      await fhir.json(`/DocumentReference/${doc.id}/${restrict ? '$restrict' : '$unrestrict'}`, { method: 'POST' });
      setConfirm(undefined);
      load.reload();
    } catch (err) {
      setRestrictError(err);
    } finally {
      setBusy(undefined);
    }
  }

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
      setOpened({ id: doc.id!, url, title: titleOf(doc) });
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
      {restrictError ? <ErrorMessage error={restrictError} /> : null}
      {confirm && (
        <NotificationPanel variant="warn" label={t(confirm.restrict ? 'docs.restrict.confirmTitle' : 'docs.unrestrict.confirmTitle', { title: titleOf(confirm.doc) })} role="region" testId="document-restrict-confirm">
          <p>{t(confirm.restrict ? 'docs.restrict.effect' : 'docs.unrestrict.effect')}</p>
          <div className="sh-row">
            <Button onClick={() => setRestricted(confirm.doc, confirm.restrict)} disabled={busy === confirm.doc.id} testId="document-restrict-yes">
              {t(confirm.restrict ? 'docs.restrict.yes' : 'docs.unrestrict.yes')}
            </Button>
            <Button variant="borderless" onClick={() => setConfirm(undefined)} testId="document-restrict-no">
              {t('privacy.confirm.back')}
            </Button>
          </div>
        </NotificationPanel>
      )}
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
          columns={[t('docs.col.document'), t('docs.col.date'), t('docs.col.from'), t('docs.col.open'), ...(person.mayManagePrivacy ? [t('docs.col.restriction')] : [])]}
          rows={docs.map((d) => ({
            key: d.id!,
            testId: `document-${d.id}`,
            cells: [
              <>
                {titleOf(d)}
                <div className="sh-subtle">{conceptText(d.type)}</div>
                {isRestricted(d) && <span className="sh-tag sh-tag-abnormal" data-testid="document-restricted">{t('docs.restricted')}</span>}
              </>,
              formatDate(d.date ?? d.context?.period?.start),
              referenceText(d.custodian) || referenceText(d.author?.[0]),
              contentPath(d.content?.[0]?.attachment?.url) ? (
                <Button variant="outline" onClick={() => open(d)} disabled={busy === d.id} testId={`open-${d.id}`} ariaLabel={t('docs.openLabel', { title: titleOf(d) })}>
                  {t('docs.open')}
                </Button>
              ) : (
                ''
              ),
              ...(person.mayManagePrivacy
                ? [
                    <Button
                      variant="borderless"
                      onClick={() => setConfirm({ doc: d, restrict: !isRestricted(d) })}
                      testId={`${isRestricted(d) ? 'unrestrict' : 'restrict'}-${d.id}`}
                      ariaLabel={t(isRestricted(d) ? 'docs.unrestrict.label' : 'docs.restrict.label', { title: titleOf(d) })}
                    >
                      {t(isRestricted(d) ? 'docs.unrestrict.button' : 'docs.restrict.button')}
                    </Button>,
                  ]
                : []),
            ],
          }))}
        />
      )}
    </div>
  );
}
