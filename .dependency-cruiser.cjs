// The layering of main/ (ARCHITECTURE.md), checked by `npm run lint` (depcruise). Lowest first: a
// folder imports only from the folders listed for it (and from itself); another service only through
// its index.ts; never in a cycle. The renderer imports from main/ only types from main/contract and
// main/util/slug.ts. Known violations, to be fixed, are listed in .dependency-cruiser-known.json
// (`npx depcruise ... --output-type baseline` writes it); any new one fails the lint.
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

// settings/ (the policy file, the data folder, the activity log) sits on util: every layer may read it.
const util = ['main/util', 'main/settings'];
const jobs = [...util, 'main/jobs']; // the job runner: no job kinds (they are registered in app/jobs.ts)
const dicom = [...jobs, 'main/dicom'];
const data = [...dicom, 'main/data'];
const inference = [...data, 'models', 'main/inference'];
const models = [...inference, 'main/evaluation', 'main/training'];
const registry = [...models, 'main/registry'];
const services = [...registry, 'main/library', 'main/review', 'main/viewer', 'main/pacs'];

/** folder → the folders it may import from (besides its own files). */
const allowed = {
  'main/util': [],
  'main/settings': ['main/util'],
  'main/jobs': util,
  'main/dicom': util,
  'main/data': ['main/util', 'main/dicom'],
  // the engine (no Electron): beside main/, on top of util only
  models: util,
  'main/inference': [...data, 'models'],
  'main/evaluation': inference,
  'main/training': inference,
  // installed model versions, the active model, thresholds, packages (after evaluation: it reads evaluations)
  'main/registry': models,
  'main/library': models,
  'main/review': models,
  'main/viewer': [...models, 'main/library'],
  // PACS connections, search/retrieve into the library, sending results, the watch loop
  'main/pacs': [...models, 'main/library'],
  // composition root: the service container and THE table of job kinds
  'main/app': services,
  // the IPC contract: zod schemas and the types the renderer imports
  'main/contract': services,
  'main/ipc': [...services, 'main/app', 'main/contract'],
  'main/cli': [...services, 'main/app'],
  // the shell runs the CLI itself when the installed app is started with --cli (bin/r2c)
  'main/shell': [...services, 'main/app', 'main/contract', 'main/ipc', 'main/cli'],
};

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const under = (folders) => `^(${folders.map(escapeRe).join('|')})/`;
const roots = ['main', 'models'];

const layerRules = Object.entries(allowed).map(([folder, may]) => ({
  name: `layer:${folder}`,
  comment: `${folder}/ may import only from ${may.length ? may.join(', ') : 'nothing else in main/ or models/'}`,
  severity: 'error',
  from: { path: under([folder]) },
  to: { path: under(roots), pathNot: under([folder, ...may]) },
}));

const unlisted = {
  name: 'layer:unlisted-folder',
  comment: 'every folder of main/ has a place in the layering (.dependency-cruiser.cjs)',
  severity: 'error',
  from: { path: '^main/', pathNot: under(Object.keys(allowed)) },
  to: {},
};

/** Service folders: a folder of main/ (or main/data/, or models/) with an index.ts. */
const servicesWithIndex = ['models'];
for (const parent of ['main', 'main/data'])
  for (const entry of readdirSync(join(__dirname, parent), { withFileTypes: true }))
    if (entry.isDirectory() && existsSync(join(__dirname, parent, entry.name, 'index.ts')))
      servicesWithIndex.push(`${parent}/${entry.name}`);
if (existsSync(join(__dirname, 'main/data/index.ts'))) servicesWithIndex.push('main/data');

const surfaceRules = servicesWithIndex.map((service) => {
  // A service's own sub-services are reached through their index.ts too.
  const indexes = servicesWithIndex.filter((s) => s === service || s.startsWith(`${service}/`));
  return {
    name: `surface:${service}`,
    comment: `from outside ${service}/, import it only through its index.ts`,
    severity: 'error',
    from: { path: '^(main|models)/', pathNot: `^${escapeRe(service)}/` },
    to: {
      path: `^${escapeRe(service)}/`,
      pathNot: `^(${indexes.map((s) => `${escapeRe(s)}/index\\.ts`).join('|')})$`,
    },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycles (type-only imports included)',
      severity: 'error',
      from: { path: '^(main|models|renderer)/' },
      to: { circular: true },
    },
    ...layerRules,
    unlisted,
    ...surfaceRules,
    {
      name: 'renderer:main-only-contract',
      comment: 'the renderer imports from main/ only main/contract (types) and main/util/slug.ts',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { path: '^(main|models)/', pathNot: '^(main/contract/|main/util/slug\\.ts$)' },
    },
    {
      name: 'renderer:contract-types-only',
      comment: 'the renderer imports only types from main/contract',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { path: '^main/contract/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'main:no-renderer',
      comment: 'main/ and models/ never import the renderer',
      severity: 'error',
      from: { path: '^(main|models)/' },
      to: { path: '^renderer/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that does not resolve',
      severity: 'error',
      from: { path: '^(main|models|renderer)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|out)/|^models/(shipped|training-runs)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.js', '.svelte', '.json', '.d.ts'],
    },
  },
};
