import { useEffect, useState } from 'react';
import Button from '@helsenorge/designsystem-react/components/Button';
import Title from '@helsenorge/designsystem-react/components/Title';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import { I18nProvider, useI18n } from '../shared/i18n.tsx';
import { Layout } from '../shared/Layout.tsx';
import { ErrorMessage } from '../shared/ErrorMessage.tsx';
import { navigate, usePath } from '../shared/router.ts';
import { citizenAuth } from './auth.ts';
import { MESSAGES } from './messages.ts';
import { Portal } from './Portal.tsx';

export function App() {
  return (
    <I18nProvider messages={MESSAGES}>
      <Root />
    </I18nProvider>
  );
}

function Root() {
  const path = usePath();
  const [session, setSession] = useState(() => citizenAuth.session());
  if (path === citizenAuth.redirectPath) return <Callback onDone={() => setSession(citizenAuth.session())} />;
  if (!session) return <LoggedOut />;
  return (
    <Portal
      session={session}
      onLogout={() => {
        citizenAuth.logout();
        setSession(undefined);
        navigate('/');
      }}
    />
  );
}

function Callback({ onDone }: { onDone: () => void }) {
  const { t } = useI18n();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let done = false;
    citizenAuth.completeLogin().then(
      (to) => {
        if (done) return;
        onDone();
        navigate(to, { replace: true });
      },
      (err) => !done && setError(err)
    );
    return () => {
      done = true;
    };
  }, []);
  return (
    <Layout appName="Helsenorge" homePath="/">
      {error ? (
        <>
          <Title htmlMarkup="h1">{t('login.failed')}</Title>
          <ErrorMessage error={error} />
          <Button onClick={() => citizenAuth.login('/')}>{t('login.button')}</Button>
        </>
      ) : (
        <Loader ariaLabel={t("login.completing")} />
      )}
    </Layout>
  );
}

function LoggedOut() {
  const { t } = useI18n();
  return (
    <Layout appName="Helsenorge" homePath="/">
      <div className="sh-stack">
        <Title htmlMarkup="h1">{t('welcome.title')}</Title>
        <p>{t('welcome.text')}</p>
        <Button onClick={() => citizenAuth.login()} testId="login">
          {t('login.button')}
        </Button>
      </div>
    </Layout>
  );
}
