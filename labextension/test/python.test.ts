/**
 * What "Insert ddas.open(…)" writes into a notebook must be Python that
 * evaluates to the registry's location exactly, whatever the location
 * holds; so each literal is checked by Python itself, not by a second
 * implementation of its rules.
 */
import { spawnSync } from 'child_process';

import { hasHiddenCharacters } from '../src/format';
import { ddasOpenSnippet, pythonStringLiteral } from '../src/python';

const PYTHON = process.env.PYTHON ?? 'python3';

/** The values Python reads from `literals` (one `ast.literal_eval` each). */
function evaluatedByPython(literals: string[]): string[] {
  const program =
    'import ast, json, sys\n' +
    'literals = json.load(sys.stdin)\n' +
    'print(json.dumps([ast.literal_eval(x) for x in literals]))\n';
  const run = spawnSync(PYTHON, ['-c', program], {
    input: JSON.stringify(literals),
    encoding: 'utf-8'
  });
  if (run.status !== 0) {
    throw new Error(`${PYTHON} failed: ${run.stderr || run.error}`);
  }
  return JSON.parse(run.stdout) as string[];
}

const LOCATIONS = [
  '/shared/era5/2020.nc',
  'C:\\Users\\alice\\data "final".csv',
  "it's a 'quoted' name",
  'back\\slash at the end\\',
  'new\nline, tab\t, return\r, NUL\u0000, bell\u0007, DEL\u007f',
  'C1 controls: \u0085 \u009b',
  'report_\u202egpj.exe',
  'zero\u200bwidth, \u2066isolate\u2069, BOM\ufeff',
  'tag characters \u{e0041}\u{e0042}',
  'unicode: é 数据 🚀 עברית',
  's3://bucket/key with spaces/{braces}/%41',
  '"""triple""" and \\N{BULLET} and {0}'
];

describe('pythonStringLiteral', () => {
  it('is read back by Python as exactly the original text', () => {
    const literals = LOCATIONS.map(pythonStringLiteral);
    expect(evaluatedByPython(literals)).toEqual(LOCATIONS);
  });

  it('is one double-quoted line with nothing hidden in it', () => {
    for (const location of LOCATIONS) {
      const literal = pythonStringLiteral(location);
      expect(literal.startsWith('"') && literal.endsWith('"')).toBe(true);
      expect(literal).not.toMatch(/[\n\r]/);
      expect(hasHiddenCharacters(literal)).toBe(false);
    }
  });

  it('escapes what must be escaped and keeps other text as is', () => {
    expect(pythonStringLiteral('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(pythonStringLiteral('x\u0000y\u0085')).toBe('"x\\x00y\\x85"');
    expect(pythonStringLiteral('report_\u202egpj.exe')).toBe(
      '"report_\\u202egpj.exe"'
    );
    expect(pythonStringLiteral('数据 é')).toBe('"数据 é"');
  });
});

describe('ddasOpenSnippet', () => {
  it('calls ddas.open with the location as a literal', () => {
    expect(ddasOpenSnippet('/shared/a "b".nc')).toBe(
      'ddas.open("/shared/a \\"b\\".nc")'
    );
  });
});
