// Builds a JavaScript plugin (run by `pleo-host build` from the toolchain folder, where
// componentize-js and esbuild are installed):
//   node build-js.mjs PROJECT_DIR WIT_DIR WORLD OUT.wasm
// 1. esbuild bundles app.js and what it imports into one ES module (componentize-js takes one
//    file); `pleo:*` and `wasi:*` imports stay, they are the component's imports.
// 2. The WASI interfaces the SDK's file writing uses (wasi:filesystem and what it needs) are
//    taken from the WIT that componentize-js's own dependency (jco) ships.
// 3. componentize-js turns the bundle into a component without wasi:http (the sandbox has no
//    network).
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { componentize } from '@bytecodealliance/componentize-js';
import { build } from 'esbuild';

const [project, witDir, world, out] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const work = dirname(out);
await mkdir(work, { recursive: true });
const bundle = join(work, 'bundle.js');
await build({
  entryPoints: [join(project, 'app.js')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  outfile: bundle,
  external: ['pleo:*', 'wasi:*'],
  logLevel: 'warning',
});
const wit = join(work, 'wit');
await cp(witDir, wit, { recursive: true });
const builtin = join(here, 'node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12');
for (const pkg of ['wasi-filesystem', 'wasi-io', 'wasi-clocks']) {
  await cp(join(builtin, pkg), join(wit, 'deps', pkg), { recursive: true });
}
const { component } = await componentize({
  sourcePath: bundle,
  witPath: wit,
  worldName: world,
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
