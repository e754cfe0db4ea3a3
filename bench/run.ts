/**
 * Benchmark runner: `npm run bench` runs every `bench/<module>/*.bench.ts` suite;
 * `npm run bench -- --quick` is a short smoke run (CI runs it so benchmarks never rot);
 * `--filter <text>` keeps matching suites/cases; `--json <file>` also writes results.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchSuite, type CaseResult, formatTable, runCase } from './harness.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const filter = flag('--filter');
const jsonOut = flag('--json');
const settings = quick ? { roundMs: 20, rounds: 3 } : { roundMs: 200, rounds: 7 };

const root = fileURLToPath(new URL('.', import.meta.url));

async function findSuites(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await findSuites(path)));
    else if (entry.name.endsWith('.bench.ts')) found.push(path);
  }
  return found.sort();
}

const results: CaseResult[] = [];
for (const file of await findSuites(root)) {
  const { suite } = (await import(pathToFileURL(file).href)) as { suite: BenchSuite };
  for (const bench of suite.cases) {
    const label = `${suite.name} / ${bench.name}`;
    if (filter && !label.includes(filter)) continue;
    process.stderr.write(`running ${relative(root, file)}: ${bench.name}\n`);
    results.push(await runCase(suite.name, bench, settings));
  }
}

if (results.length === 0) {
  console.error(filter ? `no benchmark matches "${filter}"` : 'no benchmarks found');
  process.exit(1);
}
console.log(formatTable(results));
if (quick) console.log('\n(quick smoke run: figures are indicative only)');
if (jsonOut) await writeFile(jsonOut, `${JSON.stringify(results, null, 2)}\n`);
