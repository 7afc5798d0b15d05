import { useEffect, useState } from 'react';
import Button from '@helsenorge/designsystem-react/components/Button';
import Title from '@helsenorge/designsystem-react/components/Title';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import { useI18n } from './i18n.tsx';
import { Layout } from './Layout.tsx';
import { ErrorMessage } from './ErrorMessage.tsx';
import { navigate } from './router.ts';
import type { Auth } from './auth.ts';

/** The redirect page of the code flow: exchanges the code, then returns to where the user was going. */
export function LoginCallback({ auth, appName, homePath, onDone }: { auth: Auth; appName: string; homePath: string; onDone: () => void }) {
  const { t } = useI18n();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let current = true;
    auth.completeLogin().then(
      (to) => {
        if (!current) return;
        onDone();
        navigate(to, { replace: true });
      },
      (err) => current && setError(err)
    );
    return () => {
      current = false;
    };
  }, []);
  return (
    <Layout appName={appName} homePath={homePath}>
      {error ? (
        <div className="sh-stack">
          <Title htmlMarkup="h1">{t('login.failed')}</Title>
          <ErrorMessage error={error} />
          <Button onClick={() => auth.login(homePath)}>{t('login.button')}</Button>
        </div>
      ) : (
        <Loader ariaLabel={t('login.completing')} />
      )}
    </Layout>
  );
}
