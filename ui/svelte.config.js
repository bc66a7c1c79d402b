import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
  // The package's components are TypeScript and PostCSS; vite's own pipeline handles both.
  preprocess: vitePreprocess(),
  kit: {
    // A single page app: Bastion serves index.html for every path that is not a file of the bundle.
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    prerender: { entries: [] },
    // One JavaScript and one CSS file instead of ~80 chunks: the workflow list needs nearly all of the code anyway,
    // and in start-dev the UI is HTTP/1.1 (plaintext), where chromium fetches six files at a time, a module's imports
    // only after the module: the chunk waterfall, not the API, was most of the list's first paint.
    output: { bundleStrategy: 'single' },
  },
};
