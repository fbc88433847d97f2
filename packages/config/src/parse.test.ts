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
});
