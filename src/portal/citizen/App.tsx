import { useState } from 'react';
import Button from '@helsenorge/designsystem-react/components/Button';
import Title from '@helsenorge/designsystem-react/components/Title';
import { I18nProvider, useI18n } from '../shared/i18n.tsx';
import { Layout } from '../shared/Layout.tsx';
import { LoginCallback } from '../shared/LoginCallback.tsx';
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
  if (path === citizenAuth.redirectPath) return <LoginCallback auth={citizenAuth} appName="Helsenorge" homePath="/" onDone={() => setSession(citizenAuth.session())} />;
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
