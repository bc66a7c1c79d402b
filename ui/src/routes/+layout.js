// The app is a single page app: everything renders in the browser, against Bastion's HTTP API on this origin.
import i18next from 'i18next';
import LanguageDetector from 'i18next-browser-languagedetector';
import resources from '@temporalio/ui/i18n/locales/index';
import { i18nNamespaces } from '@temporalio/ui/i18n/index';

export const ssr = false;
export const prerender = false;

/** The package's components translate every label through i18next: start it once, before any page renders. */
export async function load() {
  if (!i18next.isInitialized) {
    await i18next.use(LanguageDetector).init({
      fallbackLng: 'en',
      load: 'languageOnly',
      ns: i18nNamespaces,
      defaultNS: 'common',
      detection: { order: ['querystring', 'localStorage', 'navigator'], caches: ['localStorage'], lookupQuerystring: 'lng', lookupLocalStorage: 'locale' },
      resources,
    });
  }
}
