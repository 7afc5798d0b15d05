import { useState, type FormEvent } from 'react';
import Button from '@helsenorge/designsystem-react/components/Button';
import Title from '@helsenorge/designsystem-react/components/Title';
import { useI18n } from '../shared/i18n.tsx';
import { ACCESS_BASES, isEmergency, looksLikeNin, type AccessBasis, type Lookup } from './lookup.ts';

/** Whose record, on which access basis; an emergency basis needs a written reason. */
export function LookupForm({ onSubmit, initial, purposeOfUse }: { onSubmit: (l: Lookup) => void; initial?: Partial<Lookup>; purposeOfUse?: string }) {
  const { t } = useI18n();
  const [nin, setNin] = useState(initial?.nin ?? '');
  const [basis, setBasis] = useState<AccessBasis>(initial?.basis ?? 'SAMTYKKE');
  const [reason, setReason] = useState(initial?.reason ?? '');
  const [tried, setTried] = useState(false);
  const ninError = tried && !looksLikeNin(nin) ? t('lookup.nin.invalid') : undefined;
  const reasonError = tried && isEmergency(basis, purposeOfUse) && !reason.trim() ? t('lookup.reason.missing') : undefined;

  function submit(e: FormEvent) {
    e.preventDefault();
    setTried(true);
    if (!looksLikeNin(nin) || (isEmergency(basis, purposeOfUse) && !reason.trim())) return;
    onSubmit({ nin: nin.trim(), basis, reason: isEmergency(basis, purposeOfUse) ? reason.trim() : undefined });
  }

  return (
    <form className="kj-form kj-native" onSubmit={submit} noValidate aria-labelledby="lookup-title">
      <Title htmlMarkup="h1" id="lookup-title">
        {t('lookup.title')}
      </Title>
      <div>
        <label htmlFor="nin">{t('lookup.nin')}</label>
        <input
          id="nin"
          name="nin"
          inputMode="numeric"
          autoComplete="off"
          value={nin}
          onChange={(e) => setNin(e.target.value)}
          aria-invalid={!!ninError}
          aria-describedby={ninError ? 'nin-error' : undefined}
          data-testid="lookup-nin"
        />
        {ninError && (
          <p id="nin-error" className="kj-field-error">
            {ninError}
          </p>
        )}
      </div>
      <fieldset className="kj-radios">
        <legend>{t('lookup.basis')}</legend>
        {ACCESS_BASES.map((b) => (
          <label key={b}>
            <input type="radio" name="basis" value={b} checked={basis === b} onChange={() => setBasis(b)} data-testid={`basis-${b}`} />
            <span>{t(`basis.${b}`)}</span>
          </label>
        ))}
      </fieldset>
      {isEmergency(basis, purposeOfUse) && (
        <div>
          <label htmlFor="reason">{t('lookup.reason')}</label>
          <textarea
            id="reason"
            name="reason"
            rows={3}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            aria-invalid={!!reasonError}
            aria-describedby={reasonError ? 'reason-error' : undefined}
            required
            data-testid="lookup-reason"
          />
          {reasonError && (
            <p id="reason-error" className="kj-field-error">
              {reasonError}
            </p>
          )}
        </div>
      )}
      <div>
        <Button type="submit" testId="lookup-submit">
          {t('lookup.submit')}
        </Button>
      </div>
    </form>
  );
}
