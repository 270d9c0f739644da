// dist/manifest.json: which file a page loads for each entry, by the name templates use,
//
//     {"app.js": "dist/app-4KX2T7QF.js", "app.css": "dist/app-0B61C9A2.css"}
//
// read once by the app when it starts (peerlearn/static_files.py, the `asset_url` helper). The
// names carry a hash of their content, so the app serves them with a year's cache; a new build
// makes new names, and pages rendered after the restart ask for those.
//
// A page loaded before a deploy still asks for the last build's entry and chunks, and its lazy
// chunks may be fetched much later. So a build deletes nothing it did not replace: dist/.builds.json
// lists the files of the last KEEP_BUILDS builds, and only hashed files none of them lists go.
// dist/app.js and dist/app.css stay as copies of the latest build under their plain names, for
// tools that look for them there (they are served without the long cache).
import { createHash } from 'node:crypto';
import {
  copyFileSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync,
} from 'node:fs';
import { join, relative, sep } from 'node:path';

export const KEEP_BUILDS = 3;
// esbuild's [hash] (eight characters of base32) and ours for the stylesheet (eight of hex).
const HASHED = /-[A-Z0-9]{8}\.(?:js|css)(?:\.map)?$/;
const COPIES = /\.(?:br|gz)$/;

export function recordBuild(dist, outputs) {
  const files = outputs.map((path) => relative(dist, path).split(sep).join('/'));
  const entry = files.find((name) => /^app-[A-Z0-9]{8}\.js$/.test(name));
  if (!entry) throw new Error(`no app-[hash].js among esbuild's outputs: ${files.join(', ')}`);
  copyFileSync(join(dist, entry), join(dist, 'app.js'));
  const stylesheet = hashStylesheet(dist);
  files.push(stylesheet);

  const builds = readBuilds(dist);
  const same = builds.length && sameFiles(builds[0].files, files);
  const kept = same ? builds : [{ built_at: new Date().toISOString(), files }, ...builds];
  writeJson(dist, '.builds.json', kept.slice(0, KEEP_BUILDS));
  writeJson(dist, 'manifest.json', { 'app.js': `dist/${entry}`, 'app.css': `dist/${stylesheet}` });
  prune(dist, kept.slice(0, KEEP_BUILDS));
}

// While `npm run watch` rebuilds, pages load the plain names it writes.
export function recordWatch(dist) {
  writeJson(dist, 'manifest.json', { 'app.js': 'dist/app.js', 'app.css': 'dist/app.css' });
}

function hashStylesheet(dist) {
  const source = join(dist, 'app.css');
  if (!existsSync(source)) throw new Error(`${source} is missing: build the CSS first (npm run build:css)`);
  const content = readFileSync(source);
  const name = `app-${createHash('sha256').update(content).digest('hex').slice(0, 8).toUpperCase()}.css`;
  if (!existsSync(join(dist, name))) copyFileSync(source, join(dist, name));
  return name;
}

function readBuilds(dist) {
  try {
    return JSON.parse(readFileSync(join(dist, '.builds.json'), 'utf8'));
  } catch {
    return [];
  }
}

function sameFiles(a, b) {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

function writeJson(dist, name, value) {
  // Whole or not at all: a server starting meanwhile reads the old manifest or the new one.
  const path = join(dist, name);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

function prune(dist, builds) {
  const keep = new Set(builds.flatMap((build) => build.files));
  for (const path of walk(dist)) {
    const name = relative(dist, path).split(sep).join('/').replace(COPIES, '');
    if (HASHED.test(name) && !keep.has(name)) rmSync(path, { force: true });
  }
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}
