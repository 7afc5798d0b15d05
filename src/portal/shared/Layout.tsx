import type { ReactNode } from 'react';
import Button from '@helsenorge/designsystem-react/components/Button';
import { useI18n, type Lang } from './i18n.tsx';
import { linkHandler } from './router.ts';

export interface NavItem {
  path: string;
  label: string;
}

/** The page frame both front ends share: skip link, header with language choice and logout, navigation, main. */
export function Layout(props: {
  appName: string;
  homePath: string;
  user?: ReactNode;
  onLogout?: () => void;
  nav?: NavItem[];
  currentPath?: string;
  toolbar?: ReactNode;
  children: ReactNode;
}) {
  const { t, lang, setLang } = useI18n();
  return (
    <div className="sh-app">
      <a className="sh-skip" href="#main">
        {t('skip.main')}
      </a>
      <header className="sh-header">
        <div className="sh-header-inner">
          <a className="sh-brand" href={props.homePath} onClick={linkHandler(props.homePath)}>
            {props.appName}
          </a>
          <div className="sh-header-tools">
            <label className="sh-lang">
              <span>{t('lang.label')}</span>
              <select value={lang} onChange={(e) => setLang(e.target.value as Lang)} data-testid="language">
                <option value="nb">Norsk (bokmål)</option>
                <option value="en">English</option>
              </select>
            </label>
            {props.user && <span className="sh-user">{props.user}</span>}
            {props.onLogout && (
              <Button variant="outline" onClick={props.onLogout} testId="logout">
                {t('logout.button')}
              </Button>
            )}
          </div>
        </div>
        {props.toolbar && <div className="sh-toolbar">{props.toolbar}</div>}
        {props.nav && props.nav.length > 0 && (
          <nav aria-label={t('nav.label')} className="sh-nav">
            <ul>
              {props.nav.map((n) => (
                <li key={n.path}>
                  <a href={n.path} onClick={linkHandler(n.path)} aria-current={props.currentPath === n.path ? 'page' : undefined}>
                    {n.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
      </header>
      <main id="main" tabIndex={-1} className="sh-main">
        {props.children}
      </main>
      <footer className="sh-footer">{t('dev.notice')}</footer>
    </div>
  );
}
