import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import { ApiError } from './fhir.ts';
import { useI18n } from './i18n.tsx';

/** A refusal or failure from the API as a clear, translated message, with the server's text for support. */
export function ErrorMessage({ error, testId }: { error: unknown; testId?: string }) {
  const { t } = useI18n();
  const api = error instanceof ApiError ? error : undefined;
  const key = api ? `error.${api.code}` : undefined;
  const translated = key && t(key) !== key ? t(key) : undefined;
  const detail = api ? api.diagnostics : String((error as Error)?.message ?? error);
  return (
    <NotificationPanel variant="error" label={t('error.title')} role="alert" testId={testId ?? 'api-error'}>
      <p data-error-code={api?.code}>{translated ?? detail}</p>
      {translated && detail && (
        <p className="sh-subtle">
          {t('error.details')}: {detail}
        </p>
      )}
    </NotificationPanel>
  );
}
