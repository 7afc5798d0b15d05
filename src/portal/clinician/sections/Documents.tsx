import { useState } from 'react';
import Button from '@helsenorge/designsystem-react/components/Button';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import type { PatientContext } from '../PatientRecord.tsx';
import { conceptText, ScrollTable, Section } from './Section.tsx';

/** NHN's count of documents withheld because the patient restricted them (never their content). */
const NORS_COUNT = 'NHN-SecurityLabel-Nors-Count';

interface DocumentsData {
  documents: any[];
  hidden: number;
}

/** Pasientens journaldokumenter: the list (ITI-67), content opened on request (ITI-68), and how many are hidden. */
export function Documents({ client, patient }: PatientContext) {
  const { t, formatDate } = useI18n();
  const [openError, setOpenError] = useState<unknown>();
  const load = async (): Promise<DocumentsData> => {
    const res = await client.request(`/DocumentReference?patient=${encodeURIComponent(`Patient/${patient.id}`)}&_sort=-date&_count=50`);
    const bundle = await res.json();
    return {
      documents: (bundle.entry ?? []).map((e: any) => e.resource).filter((r: any) => r?.resourceType === 'DocumentReference'),
      hidden: Number(res.headers.get(NORS_COUNT) ?? 0) || 0,
    };
  };

  async function open(doc: any) {
    setOpenError(undefined);
    // Open the tab first (a popup must follow the click directly), then fill it with the document.
    const tab = window.open('', '_blank');
    try {
      const url = String(doc.content?.[0]?.attachment?.url ?? '');
      const path = url.includes('/fhir/') ? url.slice(url.indexOf('/fhir/') + 5) : url.startsWith('Binary/') ? `/${url}` : url;
      const blob = await client.blob(path);
      const href = URL.createObjectURL(blob);
      if (tab) tab.location.href = href;
      else window.location.assign(href);
    } catch (err) {
      tab?.close();
      setOpenError(err);
    }
  }

  return (
    <Section id="documents" title={t('section.documents')} load={load}>
      {(data) => (
        <div className="sh-stack">
          {data.hidden > 0 && (
            <p className="kj-hidden" data-testid="documents-hidden" data-count={data.hidden}>
              {t('hidden.documents', { count: data.hidden })}
            </p>
          )}
          {data.documents.length === 0 ? (
            <p>{t('section.empty')}</p>
          ) : (
            <ScrollTable
              label={t('section.documents')}
              testId="documents"
              columns={[t('doc.title'), t('doc.type'), t('doc.date'), t('doc.author'), <span className="sh-sr">{t('doc.open', { title: '' })}</span>]}
            >
                  {data.documents.map((d) => {
                    const title = d.description ?? d.content?.[0]?.attachment?.title ?? conceptText(d.type);
                    return (
                      <tr key={d.id}>
                        <td>{title}</td>
                        <td>{conceptText(d.type)}</td>
                        <td>{formatDate(d.date ?? d.context?.period?.start)}</td>
                        <td>{(d.custodian?.display ?? d.author?.map((a: any) => a.display).filter(Boolean).join(', ')) || ''}</td>
                        <td>
                          {d.content?.[0]?.attachment?.url && (
                            <Button variant="borderless" onClick={() => open(d)} ariaLabel={t('doc.open', { title })} testId={`open-document-${d.id}`}>
                              {t('doc.open', { title: '' }).trim()}
                            </Button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
            </ScrollTable>
          )}
          {openError !== undefined && <ErrorMessage error={openError} testId="document-open-error" />}
        </div>
      )}
    </Section>
  );
}
