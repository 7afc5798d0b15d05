import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import { useI18n } from '../shared/i18n.tsx';
import { Layout, type NavItem } from '../shared/Layout.tsx';
import { ErrorMessage } from '../shared/ErrorMessage.tsx';
import { createFhirClient } from '../shared/fhir.ts';
import { usePath } from '../shared/router.ts';
import type { Session } from '../shared/auth.ts';
import { Citizen, type CitizenContext, type Represented, type ServiceInfo } from './context.tsx';
import { useLoad } from './useLoad.ts';
import { ActFor } from './ActFor.tsx';
import { Overview } from './pages/Overview.tsx';
import { CriticalInfo } from './pages/CriticalInfo.tsx';
import { Medication } from './pages/Medication.tsx';
import { Documents } from './pages/Documents.tsx';
import { LabResults } from './pages/LabResults.tsx';
import { LabTrend } from './pages/LabTrend.tsx';
import { AccessLog } from './pages/AccessLog.tsx';
import { Privacy } from './pages/Privacy.tsx';

/** A page of the portal: its path, the service it shows (if any) and its component. */
interface PageDef {
  path: string;
  label: string;
  service?: string;
  match?: (path: string) => boolean;
  render: () => ReactNode;
}

const ACTING_FOR = 'samhandling:citizen:actingFor';

export function Portal({ session, onLogout: endSession }: { session: Session; onLogout: () => void }) {
  const { t } = useI18n();
  // Whom the citizen acted for belongs to this login only.
  const onLogout = () => {
    sessionStorage.removeItem(ACTING_FOR);
    endSession();
  };
  const path = usePath();
  const selfNin = String(session.claims.pid ?? '');
  const [actingFor, setActingFor] = useState(() => sessionStorage.getItem(ACTING_FOR) ?? selfNin);
  // Without nhn-patient-nin the server lists everyone the citizen may act for.
  const base = useMemo(() => createFhirClient({ token: () => session.accessToken, onUnauthorized: onLogout }), [session]);
  const reps = useLoad(() => base.json<{ self: string; people: Represented[]; catalogue: ServiceInfo[] }>('/$representations'), [base]);
  const people = reps.data?.people ?? [];
  const person = people.find((p) => p.nin === actingFor) ?? people.find((p) => p.relation === 'self') ?? people[0];

  const ctx = useMemo<CitizenContext | undefined>(() => {
    if (!person) return undefined;
    const fhir = createFhirClient({ token: () => session.accessToken, onUnauthorized: onLogout, headers: () => ({ 'nhn-patient-nin': person.nin }) });
    const codes = new Set(person.services.map((s) => s.code));
    return { fhir, person, people, selfNin, catalogue: reps.data?.catalogue ?? [], has: (s) => codes.has(s) };
  }, [person, people, session]);

  const pages: PageDef[] = [
    { path: '/', label: t('nav.overview'), render: () => <Overview /> },
    { path: '/critical-information', label: t('nav.critical'), service: 'critical-information', render: () => <CriticalInfo /> },
    { path: '/medication', label: t('nav.medication'), service: 'medication', render: () => <Medication /> },
    { path: '/documents', label: t('nav.documents'), service: 'documents', render: () => <Documents /> },
    {
      path: '/lab-results',
      label: t('nav.lab'),
      service: 'lab-results',
      match: (p) => p === '/lab-results' || p.startsWith('/lab-results/'),
      render: () => (path.startsWith('/lab-results/trend') ? <LabTrend /> : <LabResults />),
    },
    { path: '/access-log', label: t('nav.accessLog'), render: () => <AccessLog /> },
    { path: '/privacy', label: t('nav.privacy'), render: () => <Privacy /> },
  ];

  const switchTo = (nin: string) => {
    sessionStorage.setItem(ACTING_FOR, nin);
    setActingFor(nin);
  };

  const selfName = people.find((p) => p.relation === 'self')?.name;
  const page = pages.find((p) => (p.match ? p.match(path) : p.path === path));
  const nav: NavItem[] = ctx ? pages.filter((p) => !p.service || ctx.has(p.service)).map((p) => ({ path: p.path, label: p.label })) : [];
  const current = page?.path;

  // A page change in the app is announced like a page load: a title of its own, focus at the top of main.
  const firstPath = useRef(path);
  useEffect(() => {
    document.title = `${page?.label ?? t('page.notFound')} – Helsenorge`;
    if (path !== firstPath.current) document.getElementById('main')?.focus();
  }, [path, page?.label]);

  let content: ReactNode;
  if (reps.error) content = <ErrorMessage error={reps.error} />;
  else if (!ctx) content = <Loader ariaLabel={t('loading')} />;
  else if (!page) content = <NotificationPanel variant="info" label={t('page.notFound')} />;
  else if (page.service && !ctx.has(page.service))
    content = (
      <NotificationPanel variant="info" label={t('service.unavailable.title')} testId="service-unavailable">
        {ctx.person.relation === 'self' ? t('service.unavailable.reserved') : t('service.unavailable.text', { name: ctx.person.name })}
      </NotificationPanel>
    );
  else content = page.render();

  return (
    <Layout
      appName="Helsenorge"
      homePath="/"
      user={selfName}
      onLogout={onLogout}
      nav={nav}
      currentPath={current}
      toolbar={ctx && people.length > 1 ? <ActFor people={people} current={ctx.person} onChange={switchTo} /> : undefined}
    >
      {ctx ? (
        <Citizen.Provider value={ctx}>
          <span data-testid="portal-ready" data-acting-for={ctx.person.nin} hidden />
          {content}
        </Citizen.Provider>
      ) : (
        content
      )}
    </Layout>
  );
}
