import { useCallback, useEffect, useState, type ReactNode } from 'react';
import Loader from '@helsenorge/designsystem-react/components/Loader';
import Title from '@helsenorge/designsystem-react/components/Title';
import { useI18n } from '../../shared/i18n.tsx';
import { ErrorMessage } from '../../shared/ErrorMessage.tsx';

/** One part of the record: a heading, its data loaded on its own, and its own refusal if any. */
export function Section<T>(props: { id: string; title: string; load: () => Promise<T>; children: (data: T, reload: () => void) => ReactNode }) {
  const { t } = useI18n();
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    props.load().then(
      (data) => live && setState({ loading: false, data }),
      (error) => live && setState({ loading: false, error })
    );
    return () => {
      live = false;
    };
  }, [round]);
  return (
    <section id={props.id} className="kj-section" aria-labelledby={`${props.id}-title`} data-testid={`section-${props.id}`}>
      <Title htmlMarkup="h2" appearance="title3" id={`${props.id}-title`}>
        {props.title}
      </Title>
      {state.loading && state.data === undefined ? (
        <Loader ariaLabel={t('loading')} />
      ) : state.error ? (
        <ErrorMessage error={state.error} testId={`${props.id}-error`} />
      ) : (
        props.children(state.data as T, reload)
      )}
    </section>
  );
}

/** The display text of a CodeableConcept. */
export function conceptText(c: any): string {
  return c?.text ?? c?.coding?.find((x: any) => x.display)?.display ?? c?.coding?.[0]?.code ?? '';
}

/**
 * A table that scrolls sideways inside its own region on a narrow screen (the page itself never
 * does); the region is focusable and named so keyboard users can scroll it.
 */
export function ScrollTable(props: { label: string; testId: string; columns: ReactNode[]; children: ReactNode }) {
  return (
    <div className="sh-table-wrap" role="region" aria-label={props.label} tabIndex={0}>
      <table className="sh-simple" data-testid={props.testId}>
        <thead>
          <tr>
            {props.columns.map((c, i) => (
              <th scope="col" key={i}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}
