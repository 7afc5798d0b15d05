import { useMemo, useState } from 'react';
import Button from '@helsenorge/designsystem-react/components/Button';
import Title from '@helsenorge/designsystem-react/components/Title';
import { I18nProvider, useI18n } from '../shared/i18n.tsx';
import { Layout } from '../shared/Layout.tsx';
import { LoginCallback } from '../shared/LoginCallback.tsx';
import { createFhirClient } from '../shared/fhir.ts';
import { navigate, usePath } from '../shared/router.ts';
import type { Session } from '../shared/auth.ts';
import { clinicianAuth, clinicianOf } from './auth.ts';
import { MESSAGES } from './messages.ts';
import { LookupForm } from './LookupForm.tsx';
import { PatientRecord } from './PatientRecord.tsx';
import { lookupHeaders, type Lookup } from './lookup.ts';

const HOME = '/clinician';

export function App() {
  return (
    <I18nProvider messages={MESSAGES}>
      <Root />
    </I18nProvider>
  );
}

function Root() {
  const path = usePath();
  const [session, setSession] = useState(() => clinicianAuth.session());
  const { t } = useI18n();
  if (path === clinicianAuth.redirectPath)
    return <LoginCallback auth={clinicianAuth} appName={t('app.name')} homePath={HOME} onDone={() => setSession(clinicianAuth.session())} />;
  if (!session) return <LoggedOut />;
  return (
    <Workspace
      session={session}
      onLogout={() => {
        clinicianAuth.logout();
        setSession(undefined);
        navigate(HOME);
      }}
    />
  );
}

function Frame(props: { children: React.ReactNode; user?: React.ReactNode; onLogout?: () => void }) {
  const { t } = useI18n();
  return (
    <Layout appName={t('app.name')} homePath={HOME} user={props.user} onLogout={props.onLogout}>
      {props.children}
    </Layout>
  );
}

function LoggedOut() {
  const { t } = useI18n();
  return (
    <Frame>
      <div className="sh-stack">
        <Title htmlMarkup="h1">{t('welcome.title')}</Title>
        <p>{t('welcome.text')}</p>
        <Button onClick={() => clinicianAuth.login(HOME)} testId="login">
          {t('login.button')}
        </Button>
      </div>
    </Frame>
  );
}

function Workspace({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const { t } = useI18n();
  const me = clinicianOf(session.claims);
  const [lookup, setLookup] = useState<Lookup>();
  // A new lookup starts from the last one (same patient, e.g. with another basis); a reason is always written anew.
  const [last, setLast] = useState<Lookup>();
  // One client per lookup: every request carries that lookup's patient, basis and reason.
  const client = useMemo(
    () => createFhirClient({ token: () => session.accessToken, headers: () => (lookup ? lookupHeaders(lookup) : {}), onUnauthorized: onLogout }),
    [session.accessToken, lookup]
  );
  const user = <span data-testid="clinician-user">{t('user.label', { hpr: me.hpr, org: me.organisation ?? '?', purpose: me.purposeOfUse ?? '?' })}</span>;
  return (
    <Frame user={user} onLogout={onLogout}>
      {lookup ? (
        <PatientRecord
          key={`${lookup.nin}|${lookup.basis}|${lookup.reason ?? ''}`}
          lookup={lookup}
          client={client}
          me={me}
          onNewLookup={() => {
            setLast(lookup);
            setLookup(undefined);
          }}
        />
      ) : (
        <LookupForm onSubmit={setLookup} initial={last && { nin: last.nin, basis: last.basis }} purposeOfUse={me.purposeOfUse} />
      )}
    </Frame>
  );
}
