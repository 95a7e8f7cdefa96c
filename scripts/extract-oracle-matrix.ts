// Extracts the MSR outcome matrix of kvm-oracle §3 (observed on the reference host, 6.18.44) from
// ../shared/spec/kvm-oracle.md into test/fixtures/kvm-oracle-matrix.json, the expected results of
// test/conformance/oracle_matrix.test.ts. Run: node --import tsx scripts/extract-oracle-matrix.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const md = readFileSync(join(root, '..', 'shared', 'spec', 'kvm-oracle.md'), 'utf8');
const start = md.indexOf('| scenario | A | B |');
const end = md.indexOf('\n\n', start);
const lines = md.slice(start, end).split('\n').slice(2);
const classes = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'];
const rows = lines.map((line) => {
  const cells = line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim().replaceAll('**', ''));
  const [scenario, ...outcomes] = cells;
  return { scenario, cells: Object.fromEntries(classes.map((c, i) => [c, outcomes[i]])) };
});
writeFileSync(
  join(root, 'test', 'fixtures', 'kvm-oracle-matrix.json'),
  `${JSON.stringify({ source: 'shared/spec/kvm-oracle.md §3', rows }, null, 1)}\n`,
);
console.log(`${rows.length} rows`);
