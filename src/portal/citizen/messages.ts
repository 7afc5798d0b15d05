import type { Messages } from '../shared/i18n.tsx';
import { SHARED_MESSAGES } from '../shared/messages.ts';

export const MESSAGES: Messages = {
  ...SHARED_MESSAGES,
  'welcome.title': { nb: 'Velkommen til Helsenorge', en: 'Welcome to Helsenorge' },
  'welcome.text': {
    nb: 'Logg inn for å se dine helseopplysninger: kritisk informasjon, legemidler, journaldokumenter og prøvesvar, hvem som har sett på opplysningene dine, og personverninnstillingene dine.',
    en: 'Log in to see your health information: critical information, medicines, journal documents and lab results, who has looked at your information, and your privacy settings.',
  },
  'overview.title': { nb: 'Oversikt', en: 'Overview' },
  'overview.hello': { nb: 'Du er logget inn som {name}.', en: 'You are logged in as {name}.' },
};
