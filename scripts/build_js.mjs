// Bundles peerlearn/static/src/app.js into peerlearn/static/dist/app-[hash].js and its chunks,
// then names the stylesheet the Tailwind CLI wrote (dist/app.css) by its content the same way
// and records both in dist/manifest.json (scripts/asset_manifest.mjs).
//
//     node scripts/build_js.mjs           minified, for serving (npm run build:js, after build:css)
//     node scripts/build_js.mjs --watch   readable, with source maps, rebuilt on change (npm run watch:js)
//
// Besides esbuild's command line it adds `alpineSkipsDeprecatedGlobals` below, and the manifest.
import { readFile } from 'node:fs/promises';
import * as esbuild from 'esbuild';
import { recordBuild, recordWatch } from './asset_manifest.mjs';

const watch = process.argv.includes('--watch');
const DIST = 'peerlearn/static/dist';

// Alpine's CSP build reads every property of `window` when it loads, to refuse any expression
// whose value turns out to be a global (`window`, `document`, `fetch`, ...): without eval, that
// set is what keeps an expression reaching through `$el.ownerDocument.defaultView` from doing
// anything a page script could. Reading some properties makes Chromium report a deprecated API
// used by the page, so Alpine skips those it knows of ("styleMedia", "sharedStorage"). Chromium
// 156 added `fence` (the Fenced Frame API), deprecated: every page reported "FencedFrame" from
// app.js and Lighthouse's Best Practices score fell to 81.
//
// Skipping `fence` keeps the set's purpose: outside a fenced frame, where PeerLearn's pages never
// run, `window.fence` is null, which Alpine never treats as dangerous anyway; inside one it is the
// frame's Fence (event reports to its embedder), which an expression could only reach through
// `window`, itself still refused (expressions see only component data, never globals by name).
const SKIPPED = ['fence'];
const SKIP_LIST = 'key === "styleMedia"';

const alpineSkipsDeprecatedGlobals = {
  name: 'alpine-skips-deprecated-globals',
  setup(build) {
    build.onLoad({ filter: /[\\/]@alpinejs[\\/]csp[\\/]dist[\\/][^\\/]+\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const found = source.split(SKIP_LIST).length - 1;
      // Fail the build rather than ship the deprecation again if an Alpine upgrade changes the
      // loop this patches.
      if (found !== 1) {
        return {
          errors: [{
            text: `expected Alpine's skip list of globals (\`${SKIP_LIST}\`) once in ${args.path}, `
              + `found it ${found} times: update scripts/build_js.mjs for this version of @alpinejs/csp`,
          }],
        };
      }
      const missing = SKIPPED.filter((name) => !source.includes(`key === "${name}"`));
      const extra = missing.map((name) => ` || key === "${name}"`).join('');
      return { contents: source.replace(SKIP_LIST, SKIP_LIST + extra), loader: 'js' };
    });
  },
};

const options = {
  entryPoints: ['peerlearn/static/src/app.js'],
  bundle: true,
  splitting: true,
  format: 'esm',
  target: 'es2020',
  outdir: DIST,
  entryNames: '[name]-[hash]',
  chunkNames: 'chunks/[name]-[hash]',
  loader: { '.css': 'text' },
  plugins: [alpineSkipsDeprecatedGlobals],
  logLevel: 'warning',
};

if (watch) {
  // Unhashed while watching, so a reload picks up every rebuild; the manifest says so.
  const context = await esbuild.context({
    ...options, entryNames: '[name]', sourcemap: true, logLevel: 'info',
  });
  recordWatch(DIST);
  await context.watch();
} else {
  // The last builds' files stay (the manifest prunes older ones): a page loaded before a deploy
  // still fetches the chunks it was built with.
  try {
    const result = await esbuild.build({
      ...options, minify: true, legalComments: 'none', metafile: true,
    });
    recordBuild(DIST, Object.keys(result.metafile.outputs));
  } catch (error) {
    if (!error.errors) console.error(error);
    process.exitCode = 1; // esbuild has printed its errors
  }
}
