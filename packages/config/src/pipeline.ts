/**
 * The whole pure pipeline, shared by pilot (on every debounced change) and weftctl analyze:
 * objects → index (validation, duplicates) → translation → analyzers.
 */
import { analyze } from './analyze.js';
import { buildIndex, type ConfigIndex } from './config-index.js';
import { type KubeObject, MAX_FILE_BYTES, parseYaml } from './parse.js';
import { ConfigCode, type ConfigProblem } from './problems.js';
import { type TranslateOptions, type Translation, translate } from './translate.js';

export interface ConfigFile {
  readonly path: string;
  readonly text: string;
}

export interface CompiledConfig {
  readonly index: ConfigIndex;
  readonly translation: Translation;
  /** Parse and validation problems (objects skipped or kept with a warning). */
  readonly problems: readonly ConfigProblem[];
}

/** Parses files; a file over `maxBytes` is reported and skipped whole. */
export function parseFiles(
  files: readonly ConfigFile[],
  maxBytes = MAX_FILE_BYTES,
): { objects: KubeObject[]; problems: ConfigProblem[] } {
  const objects: KubeObject[] = [];
  const problems: ConfigProblem[] = [];
  for (const f of files) {
    const size = Buffer.byteLength(f.text);
    if (size > maxBytes) {
      problems.push({
        code: ConfigCode.TooLarge,
        severity: 'error',
        message: `file is ${size} bytes, over the ${maxBytes}-byte limit; skipped`,
        location: { file: f.path, line: 1 },
      });
      continue;
    }
    const r = parseYaml(f.text, f.path);
    objects.push(...r.objects);
    problems.push(...r.problems);
  }
  return { objects, problems };
}

export function compileConfig(
  objects: readonly KubeObject[],
  options: TranslateOptions = {},
  earlierProblems: readonly ConfigProblem[] = [],
): CompiledConfig {
  const index = buildIndex(
    objects,
    options.rootNamespace === undefined ? {} : { rootNamespace: options.rootNamespace },
  );
  const translation = translate(index, options);
  return { index, translation, problems: [...earlierProblems, ...index.problems] };
}

/** Everything `weftctl analyze` reports: parse + validation problems, then the analyzers'. */
export function analyzeConfig(compiled: CompiledConfig, options: TranslateOptions = {}): ConfigProblem[] {
  return [
    ...compiled.problems,
    ...analyze(
      compiled.index,
      compiled.translation,
      options.rootNamespace === undefined ? {} : { rootNamespace: options.rootNamespace },
    ),
  ];
}
