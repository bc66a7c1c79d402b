import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

// The files of the routes the first page needs (the workflow list, `/` redirects there), relative to the app.
const firstPageRoutes = [
  'src/routes/+layout.js',
  'src/routes/+error.svelte',
  'src/routes/(app)/+layout.js',
  'src/routes/(app)/+layout.svelte',
  'src/routes/(app)/+page.js',
  'src/routes/(app)/namespaces/[namespace]/+layout.js',
  'src/routes/(app)/namespaces/[namespace]/workflows/+page.svelte',
].map((file) => fileURLToPath(new URL(file, import.meta.url)));

/**
 * Two JavaScript files instead of SvelteKit's ~80 chunks: `app` holds everything the workflow list reaches by static
 * imports from the client's entry and the routes above (1.09 MB), `pages` the rest (0.29 MB: a workflow's pages, its
 * history and timeline, the account pages), which the list page never loads. Parsing and running the code is a third
 * of the list's first paint in chromium: the list should not wait for code only other pages run. Two files, not
 * SvelteKit's ~80 chunks, keep the chunk waterfall away (start-dev serves the UI over HTTP/1.1, where chromium fetches
 * six files at a time, a module's imports only after the module); the route files are a few bytes each.
 */
function twoChunks() {
  let first = null;
  return (id, { getModuleIds, getModuleInfo }) => {
    if (first == null) {
      first = new Set();
      const seeds = [...getModuleIds()].filter((m) => {
        const info = getModuleInfo(m);
        return (info.isEntry && !m.includes('/generated/client-optimized/nodes/')) || firstPageRoutes.includes(m) || info.importedIds.some((i) => firstPageRoutes.includes(i));
      });
      for (const seed of seeds) {
        for (const todo = [seed]; todo.length > 0; ) {
          const next = todo.pop();
          if (first.has(next)) continue;
          first.add(next);
          todo.push(...(getModuleInfo(next)?.importedIds ?? []));
        }
      }
    }
    return first.has(id) ? 'app' : 'pages';
  };
}

/**
 * Bastion's stand-ins for some of the package's components, put in place of the package's imports of them: its code
 * block (src/lib/LazyCodeBlock.svelte, which loads the real one, with CodeMirror, when a page first shows one), its
 * Monaco editor (src/lib/PlainEditor.svelte, a text area: Monaco with its language workers would add megabytes for the
 * start-workflow page's two optional Markdown fields), and its schedule count (src/lib/SchedulesCount.svelte:
 * CountSchedules, as Bastion's schedules are not workflows in the `TemporalScheduler` division the package counts).
 */
const standIns = {
  '/@temporalio/ui/dist/holocene/code-block.svelte': 'src/lib/LazyCodeBlock.svelte',
  '/@temporalio/ui/dist/holocene/monaco/editor.svelte': 'src/lib/PlainEditor.svelte',
  '/@temporalio/ui/dist/components/schedule/schedules-count.svelte': 'src/lib/SchedulesCount.svelte',
};

function packageStandIns() {
  const byTarget = Object.entries(standIns).map(([target, file]) => [target, fileURLToPath(new URL(file, import.meta.url))]);
  const wrappers = new Set(byTarget.map(([, wrapper]) => wrapper));
  return {
    name: 'bastion-package-stand-ins',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (!source.endsWith('.svelte') || wrappers.has(importer)) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      return byTarget.find(([target]) => resolved?.id.endsWith(target))?.[1] ?? null;
    },
  };
}

export default defineConfig(({ isSsrBuild }) => ({
  plugins: [packageStandIns(), sveltekit(), thirdPartyNotices()],
  // The package reads VITE_API for the API's origin: empty means the page's own origin, where Bastion serves /api/v1.
  define: { 'import.meta.env.VITE_API': JSON.stringify('') },
  build: {
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false, // gzip-sizing every chunk costs build time on a small machine
    rollupOptions: isSsrBuild ? {} : { output: { manualChunks: twoChunks() } },
  },
}));
