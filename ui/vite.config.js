import { readFileSync } from 'node:fs';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// The bundle carries Temporal's UI and its fonts: their licence notices ship with it, read from the installed packages.
const notices = [
  ['@temporalio/ui (MIT)', 'node_modules/@temporalio/ui/LICENSE'],
  ['@fontsource-variable/inter (OFL-1.1)', 'node_modules/@fontsource-variable/inter/LICENSE'],
  ['@fontsource/noto-sans-mono (OFL-1.1)', 'node_modules/@fontsource/noto-sans-mono/LICENSE'],
];

function thirdPartyNotices() {
  let ssr = false;
  return {
    name: 'bastion-third-party-notices',
    apply: 'build',
    configResolved(config) {
      ssr = !!config.build.ssr;
    },
    generateBundle() {
      if (!ssr) {
        const text = notices.map(([name, file]) => `${name}\n\n${readFileSync(file, 'utf8').trim()}\n`).join('\n\n');
        this.emitFile({ type: 'asset', fileName: 'THIRD-PARTY-NOTICES.txt', source: text });
      }
    },
  };
}

export default defineConfig({
  plugins: [sveltekit(), thirdPartyNotices()],
  // The package reads VITE_API for the API's origin: empty means the page's own origin, where Bastion serves /api/v1.
  define: { 'import.meta.env.VITE_API': JSON.stringify('') },
  build: {
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false, // gzip-sizing every chunk costs build time on a small machine
  },
});
