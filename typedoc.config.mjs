// @ts-check
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/** One documented entry point per public subpath in package.json `exports`. */
const entryPoints = Object.keys(pkg.exports)
  .filter((subpath) => subpath !== './package.json')
  .map((subpath) => `src/${subpath.slice(2)}/index.ts`);

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'girder',
  entryPoints,
  out: 'docs/api',
  readme: 'README.md',
  projectDocuments: ['docs/*.md'],
  tsconfig: 'tsconfig.json',
  excludePrivate: true,
  excludeInternal: true,
  excludeExternals: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  requiredToBeDocumented: [
    'Enum',
    'EnumMember',
    'Variable',
    'Function',
    'Class',
    'Interface',
    'Property',
    'Method',
    'Accessor',
    'TypeAlias',
  ],
  sort: ['source-order'],
  // The package has no public repository URL yet, so "defined in" links would point
  // nowhere, and a clone without a git remote warns (warnings fail the build).
  disableSources: true,
  // Diagrams in the guides are mermaid: GitHub draws them, typedoc shows their source.
  ignoredHighlightLanguages: ['mermaid'],
  // typedoc's defaults plus the languages the guides use (SQL in the lock and jobs guides).
  highlightLanguages: [
    'bash',
    'console',
    'css',
    'html',
    'javascript',
    'json',
    'jsonc',
    'json5',
    'shell',
    'sh',
    'tsx',
    'typescript',
    'ts',
    'sql',
    'yaml',
    'text',
  ],
};
