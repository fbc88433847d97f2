import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYaml } from './parse.js';
import { parseFiles } from './pipeline.js';

describe('parseYaml', () => {
  it('reads multi-document YAML with the line each object starts on', () => {
    const text = [
      '# comment',
      'apiVersion: v1',
      'kind: Namespace',
      'metadata: {name: prod}',
      '---',
      '',
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: a}',
      '---',
      '',
    ].join('\n');
    const r = parseYaml(text, 'mesh.yaml');
    expect(r.problems).toEqual([]);
    expect(r.objects.map((o) => [o.kind, o.namespace, o.name, o.location?.line])).toEqual([
      ['Namespace', '', 'prod', 2],
      ['Pod', 'default', 'a', 7],
    ]);
  });

  it('reports invalid YAML with its line and keeps the other documents', () => {
    const text = [
      'apiVersion: v1',
      'kind: Namespace',
      'metadata: {name: ok}',
      '---',
      'kind: [unclosed',
      '---',
      'apiVersion: v1',
      'kind: ServiceAccount',
      'metadata: {name: sa}',
    ].join('\n');
    const r = parseYaml(text, 'bad.yaml');
    expect(r.objects.map((o) => o.name)).toEqual(['ok', 'sa']);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({
      code: 'WEFT_CONFIG_BAD_YAML',
      severity: 'error',
      location: { file: 'bad.yaml' },
    });
    expect(r.problems[0]?.location?.line).toBeGreaterThanOrEqual(5);
  });

  it.each([
    ['a scalar', 'just text', 'WEFT_CONFIG_NOT_AN_OBJECT'],
    ['no kind', 'apiVersion: v1\nmetadata: {name: x}', 'WEFT_CONFIG_NOT_AN_OBJECT'],
    ['no name', 'apiVersion: v1\nkind: Pod\nmetadata: {}', 'WEFT_CONFIG_NOT_AN_OBJECT'],
    [
      'an unknown kind',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}',
      'WEFT_CONFIG_UNKNOWN_KIND',
    ],
    ['duplicate keys', 'apiVersion: v1\nkind: Pod\nkind: Pod\nmetadata: {name: x}', 'WEFT_CONFIG_BAD_YAML'],
  ])('reports %s', (_what, text, code) => {
    const r = parseYaml(text, 'f.yaml');
    expect(r.objects).toEqual([]);
    expect(r.problems.map((p) => p.code)).toEqual([code]);
  });

  it('expands kind: List', () => {
    const r = parseYaml(
      'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n',
      'list.yaml',
    );
    expect(r.objects.map((o) => o.name)).toEqual(['a', 'b']);
  });

  it('skips oversized files whole and says so', () => {
    const r = parseFiles([{ path: 'big.yaml', text: `# ${'x'.repeat(200)}` }], 100);
    expect(r.objects).toEqual([]);
    expect(r.problems[0]).toMatchObject({
      code: 'WEFT_CONFIG_TOO_LARGE',
      location: { file: 'big.yaml', line: 1 },
    });
  });

  describe('one pass over a clean file gives what the per-document path gives', () => {
    // A bad last document sends the file through the per-document path: everything before it must be the same.
    const BAD = '\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: [\n';
    const root = join(import.meta.dirname, '..', '..', '..');
    const cases: [string, string][] = [
      [
        'comments, blank lines, content on the separator, document end markers, a List',
        [
          '# leading comment',
          '',
          'apiVersion: v1',
          'kind: Namespace',
          'metadata: {name: prod}',
          '--- # a comment after the marker',
          '# only a comment here',
          '---',
          '--- {apiVersion: v1, kind: Pod, metadata: {name: flow, namespace: prod}}',
          '---',
          '  # indented comment',
          'apiVersion: v1',
          'kind: List',
          'items:',
          '- {apiVersion: v1, kind: ServiceAccount, metadata: {name: sa, namespace: prod}}',
          '- {apiVersion: v1, kind: Pod, metadata: {name: b, namespace: prod}}',
          '...',
          '---',
          'null',
          '---',
          '- not an object',
          '---',
          'apiVersion: v1',
          'kind: Unknown',
          'metadata: {name: u}',
          '---',
          'apiVersion: v1',
          'kind: Pod',
          'metadata:',
          '  name: last',
          '  annotations: {note: "---"}',
        ].join('\n'),
      ],
      [
        'CRLF line ends',
        'apiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: a}\r\n---\r\n\r\napiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: b}\r\n',
      ],
      ...[
        'deploy/examples/demo/config/03-pods.yaml',
        'deploy/examples/demo/config/06-security.yaml',
        'deploy/kubernetes/pilot.yaml',
        'deploy/kubernetes/crds.yaml',
      ].map((f): [string, string] => [f, readFileSync(join(root, f), 'utf8')]),
    ];
    it.each(cases)('%s', (_, text) => {
      const whole = parseYaml(text, 'f.yaml');
      const each = parseYaml(text + BAD, 'f.yaml');
      expect(each.problems.at(-1)?.code).toBe('WEFT_CONFIG_BAD_YAML');
      expect(whole.objects.length + whole.problems.length).toBeGreaterThan(0);
      expect(whole).toEqual({ objects: each.objects, problems: each.problems.slice(0, -1) });
    });
  });
});
