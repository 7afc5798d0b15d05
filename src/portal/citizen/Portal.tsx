import { useEffect, useMemo, useState } from 'react';
import Title from '@helsenorge/designsystem-react/components/Title';
import { useI18n } from '../shared/i18n.tsx';
import { Layout } from '../shared/Layout.tsx';
import { ErrorMessage } from '../shared/ErrorMessage.tsx';
import { createFhirClient } from '../shared/fhir.ts';
import { usePath } from '../shared/router.ts';
import type { Session } from '../shared/auth.ts';

export function Portal({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const { t } = useI18n();
  const path = usePath();
  const fhir = useMemo(() => createFhirClient({ token: () => session.accessToken, onUnauthorized: onLogout }), [session]);
  const [name, setName] = useState<string>();
  const [error, setError] = useState<unknown>();
  const nin = String(session.claims.pid ?? '');
  useEffect(() => {
    fhir.search('/Patient').then((ps) => {
      const n = ps[0]?.name?.[0];
      setName(n ? [...(n.given ?? []), n.family].join(' ') : nin);
    }, setError);
  }, [fhir]);
  return (
    <Layout appName="Helsenorge" homePath="/" user={name} onLogout={onLogout} currentPath={path}>
      <Title htmlMarkup="h1">{t("overview.title")}</Title>
      {name && <span data-testid="portal-ready" hidden />}
      {error ? <ErrorMessage error={error} /> : <p data-testid="hello">{t('overview.hello', { name: name ?? nin })}</p>}
    </Layout>
  );
}
