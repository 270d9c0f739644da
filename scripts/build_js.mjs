// Bundles peerlearn/static/src/app.js into peerlearn/static/dist/app.js and its chunks.
//
//     node scripts/build_js.mjs           minified, for serving (npm run build:js)
//     node scripts/build_js.mjs --watch   readable, with source maps, rebuilt on change (npm run watch:js)
//
// The one thing it adds to esbuild's command line is `alpineSkipsDeprecatedGlobals` below.
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as esbuild from 'esbuild';

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
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  loader: { '.css': 'text' },
  plugins: [alpineSkipsDeprecatedGlobals],
  logLevel: 'warning',
};

if (watch) {
  const context = await esbuild.context({ ...options, sourcemap: true, logLevel: 'info' });
  await context.watch();
} else {
  // Chunk names carry a hash: remove the last build's so stale chunks are not served or compressed.
  rmSync(`${DIST}/chunks`, { recursive: true, force: true });
  try {
    await esbuild.build({ ...options, minify: true, legalComments: 'none' });
  } catch {
    process.exitCode = 1; // esbuild has printed the errors
  }
}
