import { useEffect, useRef, useState } from 'react';
import Button from '@helsenorge/designsystem-react/components/Button';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import Title from '@helsenorge/designsystem-react/components/Title';
import { useI18n } from '../shared/i18n.tsx';
import { ErrorMessage } from '../shared/ErrorMessage.tsx';
import type { FhirClient } from '../shared/fhir.ts';
import type { Clinician } from './auth.ts';
import { isEmergency, type Lookup } from './lookup.ts';
import { CriticalInfo } from './sections/CriticalInfo.tsx';
import { MedicationList } from './sections/MedicationList.tsx';
import { Documents } from './sections/Documents.tsx';
import { LabResults } from './sections/LabResults.tsx';

export interface PatientContext {
  client: FhirClient;
  patient: any;
  me: Clinician;
}

/**
 * The looked-up patient's record. The lookup itself (GET /fhir/Patient with nhn-patient-nin) is
 * where the server refuses a blocked practitioner, UNNTAK from someone else than the GP or a
 * FORHOYET basis with nothing restricted: that refusal is shown, translated, and nothing else.
 */
export function PatientRecord({ lookup, client, me, onNewLookup }: { lookup: Lookup; client: FhirClient; me: Clinician; onNewLookup: () => void }) {
  const { t, formatDate } = useI18n();
  const [state, setState] = useState<{ patient?: any; error?: unknown; loading: boolean }>({ loading: true });
  useEffect(() => {
    let live = true;
    client.search('/Patient', 1).then(
      (found) => live && setState({ loading: false, patient: found.find((p: any) => p.resourceType === 'Patient') }),
      (error) => live && setState({ loading: false, error })
    );
    return () => {
      live = false;
    };
  }, [client]);

  // The result of a lookup (record, refusal or not found) takes the focus, so screen readers announce it.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (!state.loading) heading.current?.focus();
  }, [state.loading]);

  const newLookup = (
    <Button variant="outline" onClick={onNewLookup} testId="new-lookup">
      {t('lookup.new')}
    </Button>
  );
  if (state.loading) return <Loader ariaLabel={t('loading')} />;
  if (state.error)
    return (
      <div className="sh-stack" data-testid="lookup-refused">
        <Title htmlMarkup="h1" ref={heading} tabIndex={-1}>
          {t('patient.title')}
        </Title>
        <ErrorMessage error={state.error} testId="lookup-error" />
        {newLookup}
      </div>
    );
  if (!state.patient)
    return (
      <div className="sh-stack">
        <Title htmlMarkup="h1" ref={heading} tabIndex={-1}>
          {t('patient.title')}
        </Title>
        <NotificationPanel variant="info" testId="lookup-not-found">
          {t('lookup.notFound')}
        </NotificationPanel>
        {newLookup}
      </div>
    );

  const p = state.patient;
  const name = p.name?.[0];
  const ctx: PatientContext = { client, patient: p, me };
  return (
    <div className="sh-stack">
      <section className="kj-patient" aria-labelledby="patient-name">
        <Title htmlMarkup="h1" id="patient-name" testId="patient-name" ref={heading} tabIndex={-1}>
          {[...(name?.given ?? []), name?.family].filter(Boolean).join(' ') || lookup.nin}
        </Title>
        <p>
          {lookup.nin} · {t('patient.born', { date: formatDate(p.birthDate) })}
        </p>
        <p data-testid="access-basis">{t('patient.basis', { basis: t(`basis.${lookup.basis}`) })}</p>
      </section>
      {isEmergency(lookup.basis, me.purposeOfUse) && (
        <div className="kj-emergency" role="status" data-testid="emergency-banner">
          <strong>{t('emergency.title')}</strong>
          <p>{t('emergency.text', { reason: lookup.reason ?? '' })}</p>
        </div>
      )}
      {newLookup}
      <nav aria-label={t('section.nav')}>
        <ul className="kj-sections">
          <li><a href="#critical">{t('section.critical')}</a></li>
          <li><a href="#medication">{t('section.medication')}</a></li>
          <li><a href="#documents">{t('section.documents')}</a></li>
          <li><a href="#lab">{t('section.lab')}</a></li>
        </ul>
      </nav>
      <CriticalInfo {...ctx} />
      <MedicationList {...ctx} />
      <Documents {...ctx} />
      <LabResults {...ctx} />
    </div>
  );
}
