// `npm run bench:profile -- FILE.cpuprofile [--top 20]`: what a V8 CPU profile (written by `npm run bench --
// --cpu-prof`) spent its time on, as markdown: self time by package, then the top functions by self time and by
// total (inclusive) time. Idle time is left out of the percentages, so they are shares of the busy time.
import fs from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '20' } },
});
if (positionals.length !== 1) {
  process.stderr.write('Usage: npm run bench:profile -- FILE.cpuprofile [--top 20]\n');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(fs.readFileSync(positionals[0]!, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

/** `src/platform/auth/tokens.ts`, `fast-jwt`, `node:internal/…`, or a V8 pseudo-frame like `(garbage collector)`. */
function packageOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, pkg] = url.slice(modules + 14).split('/');
    return scope?.startsWith('@') ? `${scope}/${pkg}` : (scope ?? url);
  }
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const src = url.indexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : url.replace(/^file:\/\//, '');
}

const label = (n: ProfileNode) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url ? ` ${packageOf(url, functionName)}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${where}`;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const packages = new Map<string, number>();
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
let busy = 0;

profile.samples.forEach((id, i) => {
  const node = byId.get(id)!;
  const micros = profile.timeDeltas[i] ?? 0;
  if (node.callFrame.functionName === '(idle)') return;
  busy += micros;
  add(self, label(node), micros);
  add(packages, packageOf(node.callFrame.url, node.callFrame.functionName), micros);
  // Each function on the sample's stack once, so recursion is not counted twice.
  const onStack = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at))
    onStack.add(label(byId.get(at)!));
  for (const key of onStack) add(inclusive, key, micros);
});

function table(title: string, m: Map<string, number>, hide: (key: string) => boolean = () => false): string {
  const rows = [...m]
    .filter(([k]) => !hide(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([k, v]) =>
        `| ${k.replaceAll('|', '\\|')} | ${(v / 1000).toFixed(0)} | ${((v / busy) * 100).toFixed(1)}% |`,
    );
  return [`#### ${title}`, '', '| | ms | share of busy time |', '| --- | --: | --: |', ...rows, ''].join(
    '\n',
  );
}

process.stdout.write(
  [
    `Busy (non-idle) time: ${(busy / 1000).toFixed(0)} ms`,
    '',
    table('Self time by package or file', packages),
    table('Top functions by self time', self),
    // The roots (every sample has them on its stack) say nothing.
    table(
      'Top functions by total time',
      inclusive,
      (k) => k.startsWith('(root)') || k.startsWith('(program)'),
    ),
  ].join('\n'),
);
