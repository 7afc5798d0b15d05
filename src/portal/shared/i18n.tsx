import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

/** Norwegian bokmål by default, English selectable; the choice is kept per browser. */
export type Lang = 'nb' | 'en';
export type Messages = Record<string, { nb: string; en: string }>;

interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  /** The message for `key` with {name} placeholders filled; the key itself when unknown. */
  t(key: string, vars?: Record<string, string | number>): string;
  /** Dates and numbers in the chosen language. */
  formatDate(iso: string | undefined, withTime?: boolean): string;
}

const Ctx = createContext<I18n | undefined>(undefined);
const STORAGE = 'samhandling:lang';

export function I18nProvider({ messages, children }: { messages: Messages; children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(() => (localStorage.getItem(STORAGE) === 'en' ? 'en' : 'nb'));
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const setLang = useCallback((l: Lang) => {
    localStorage.setItem(STORAGE, l);
    setLangState(l);
  }, []);
  const value = useMemo<I18n>(() => {
    const locale = lang === 'nb' ? 'nb-NO' : 'en-GB';
    return {
      lang,
      setLang,
      t(key, vars) {
        let s = messages[key]?.[lang] ?? key;
        for (const [k, v] of Object.entries(vars ?? {})) s = s.split(`{${k}}`).join(String(v));
        return s;
      },
      formatDate(iso, withTime = false) {
        if (!iso) return '';
        const d = new Date(iso);
        if (Number.isNaN(d.getTime())) return iso;
        // A bare date (YYYY-MM-DD) has no time zone: show it as written.
        if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return d.toLocaleDateString(locale, { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
        return withTime
          ? d.toLocaleString(locale, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' })
          : d.toLocaleDateString(locale, { day: 'numeric', month: 'short', year: 'numeric' });
      },
    };
  }, [lang, messages, setLang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const c = useContext(Ctx);
  if (!c) throw new Error('useI18n outside I18nProvider');
  return c;
}
