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
    // The JavaScript is cut in two files by vite.config.js (`twoChunks`): what the workflow list needs, and the rest.
  },
};
