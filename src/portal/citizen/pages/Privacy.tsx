import { useEffect, useState } from 'react';
import Title from '@helsenorge/designsystem-react/components/Title';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import Button from '@helsenorge/designsystem-react/components/Button';
import Checkbox from '@helsenorge/designsystem-react/components/Checkbox';
import RadioButton from '@helsenorge/designsystem-react/components/RadioButton';
import Input from '@helsenorge/designsystem-react/components/Input';
import NotificationPanel from '@helsenorge/designsystem-react/components/NotificationPanel';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';
import { useCitizen } from '../context.tsx';
import { useLoad } from '../useLoad.ts';
import { changesBetween, fromConsent, toConsent, type Change, type Settings } from '../privacy.ts';

/**
 * Privacy settings (GET/PUT /fhir/$privacy-settings): reservation per service, restriction of all
 * or some services, blocking named health personnel. Every choice says what it does, and nothing
 * is saved before the citizen has seen the list of effects and confirmed it.
 */
export function Privacy() {
  const { t, lang } = useI18n();
  const { fhir, person, catalogue } = useCitizen();
  const load = useLoad(() => fhir.json('/$privacy-settings'), [fhir, person.nin]);
  const [saved, setSaved] = useState<Settings>();
  const [edit, setEdit] = useState<Settings>();
  const [review, setReview] = useState<Change[]>();
  const [saveError, setSaveError] = useState<unknown>();
  const [done, setDone] = useState(false);
  const [saving, setSaving] = useState(false);
  const [hpr, setHpr] = useState('');
  const [hprError, setHprError] = useState<string>();

  useEffect(() => {
    if (!load.data) return;
    const s = fromConsent(load.data);
    setSaved(s);
    setEdit(s);
    setReview(undefined);
  }, [load.data]);

  const serviceName = (code: string) => catalogue.find((s) => s.code === code)?.name[lang] ?? code;
  // Citizens cannot read the health personnel registry through the API, so personnel are named by HPR number.
  const personName = (h: string) => `HPR ${h}`;
  const readOnly = !person.mayManagePrivacy;

  if (load.error) return <Frame><ErrorMessage error={load.error} /></Frame>;
  if (!edit || !saved) return <Frame><Loader ariaLabel={t('loading')} /></Frame>;

  const update = (f: (s: Settings) => Settings) => {
    setEdit((s) => f(s!));
    setReview(undefined);
    setDone(false);
  };
  const toggle = (list: string[], code: string, on: boolean) => (on ? [...list.filter((c) => c !== code), code] : list.filter((c) => c !== code));

  function addBlock() {
    const h = hpr.trim();
    if (!/^\d{4,9}$/.test(h)) {
      setHprError(t('error.privacy-bad-hpr'));
      return;
    }
    setHprError(undefined);
    setHpr('');
    if (!edit!.blocked.includes(h)) update((s) => ({ ...s, blocked: [...s.blocked, h] }));
  }

  async function save() {
    setSaving(true);
    setSaveError(undefined);
    try {
      const consent = await fhir.json('/$privacy-settings', { method: 'PUT', body: toConsent(load.data, edit!) });
      const s = fromConsent(consent);
      setSaved(s);
      setEdit(s);
      setReview(undefined);
      setDone(true);
    } catch (err) {
      setSaveError(err);
    } finally {
      setSaving(false);
    }
  }

  const reservable = catalogue.filter((s) => s.reservable);
  const restrictable = catalogue.filter((s) => s.restrictable);
  return (
    <Frame>
      {readOnly && (
        <NotificationPanel variant="info" label={t('privacy.readOnly.title')} testId="privacy-read-only">
          {t('privacy.readOnly.text', { name: person.name })}
        </NotificationPanel>
      )}
      {done && <NotificationPanel variant="success" label={t('privacy.saved')} role="status" testId="privacy-saved" />}
      {saveError ? <ErrorMessage error={saveError} /> : null}

      <fieldset className="sh-fieldset" disabled={readOnly} data-testid="privacy-reserve">
        <legend>{t('privacy.reserve.title')}</legend>
        <p className="sh-effect">{t('privacy.reserve.effect')}</p>
        {reservable.map((s) => (
          <Checkbox
            key={s.code}
            inputId={`reserve-${s.code}`}
            testId={`reserve-${s.code}`}
            label={s.name[lang]}
            checked={edit.reserved.includes(s.code)}
            onChange={(e) => update((x) => ({ ...x, reserved: toggle(x.reserved, s.code, e.target.checked) }))}
          />
        ))}
      </fieldset>

      <fieldset className="sh-fieldset" disabled={readOnly} data-testid="privacy-restrict">
        <legend>{t('privacy.restrict.title')}</legend>
        <p className="sh-effect">{t('privacy.restrict.effect')}</p>
        {(['none', 'all', 'some'] as const).map((mode) => (
          <RadioButton
            key={mode}
            inputId={`restrict-${mode}`}
            testId={`restrict-${mode}`}
            name="restrict"
            value={mode}
            label={t(`privacy.restrict.${mode}`)}
            checked={edit.restrict === mode}
            onChange={() => update((x) => ({ ...x, restrict: mode }))}
          />
        ))}
        {edit.restrict === 'some' && (
          <div className="sh-indent">
            {restrictable.map((s) => (
              <Checkbox
                key={s.code}
                inputId={`restrict-service-${s.code}`}
                testId={`restrict-service-${s.code}`}
                label={s.name[lang]}
                checked={edit.restricted.includes(s.code)}
                onChange={(e) => update((x) => ({ ...x, restricted: toggle(x.restricted, s.code, e.target.checked) }))}
              />
            ))}
          </div>
        )}
      </fieldset>

      <fieldset className="sh-fieldset" disabled={readOnly} data-testid="privacy-block">
        <legend>{t('privacy.block.title')}</legend>
        <p className="sh-effect">{t('privacy.block.effect')}</p>
        {edit.blocked.length > 0 ? (
          <ul data-testid="privacy-blocked-list" className="sh-blocked">
            {edit.blocked.map((h) => (
              <li key={h} data-hpr={h}>
                <span>{personName(h)}</span>{' '}
                <Button variant="borderless" concept="destructive" onClick={() => update((x) => ({ ...x, blocked: x.blocked.filter((b) => b !== h) }))} testId={`unblock-${h}`} ariaLabel={t('privacy.block.remove', { who: personName(h) })}>
                  {t('privacy.block.removeShort')}
                </Button>
              </li>
            ))}
          </ul>
        ) : (
          <p>{t('privacy.block.none')}</p>
        )}
        <div className="sh-row">
          <Input
            inputId="privacy-block-hpr"
            testId="privacy-block-hpr"
            label={t('privacy.block.hprLabel')}
            inputMode="numeric"
            autoComplete="off"
            value={hpr}
            onChange={(e) => setHpr(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                addBlock();
              }
            }}
            error={!!hprError}
            errorText={hprError}
            width={14}
          />
          <Button variant="outline" onClick={addBlock} testId="privacy-block-add">
            {t('privacy.block.add')}
          </Button>
        </div>
      </fieldset>

      {!readOnly && !review && (
        <Button onClick={() => setReview(changesBetween(saved, edit, serviceName, personName))} testId="privacy-review">
          {t('privacy.review')}
        </Button>
      )}
      {review && (
        <div className="sh-stack" data-testid="privacy-review-panel">
          {review.length === 0 ? (
            <NotificationPanel variant="info" label={t('privacy.noChanges')} />
          ) : (
            <NotificationPanel variant="warn" label={t('privacy.confirm.title')} role="region">
              <ul data-testid="privacy-effects">
                {review.map((c, i) => (
                  <li key={i}>{t(c.key, c.vars)}</li>
                ))}
              </ul>
            </NotificationPanel>
          )}
          <div className="sh-row">
            {review.length > 0 && (
              <Button onClick={save} disabled={saving} testId="privacy-confirm">
                {t('privacy.confirm.save')}
              </Button>
            )}
            <Button variant="borderless" onClick={() => setReview(undefined)} testId="privacy-cancel">
              {t('privacy.confirm.back')}
            </Button>
          </div>
        </div>
      )}
    </Frame>
  );
}

function Frame({ children }: { children: React.ReactNode }) {
  const { t } = useI18n();
  const { person } = useCitizen();
  return (
    <div className="sh-stack">
      <Title htmlMarkup="h1">{t('nav.privacy')}</Title>
      <p>{person.relation === 'self' ? t('privacy.intro') : t('privacy.introFor', { name: person.name })}</p>
      {children}
    </div>
  );
}
