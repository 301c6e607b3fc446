/**
 * Python code the sidebar writes into notebooks. Paths come from the
 * registry and may contain quotes, backslashes or control characters, so
 * they are always turned into a proper Python string literal, never pasted.
 */
import { hasHiddenCharacters, visibleText } from './format';

/**
 * A double-quoted Python 3 string literal whose value is exactly `value`.
 *
 * Backslashes, double quotes and control characters are escaped; every other
 * character (including non-ASCII) is valid as is in a UTF-8 source file.
 */
export function pythonStringLiteral(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    switch (char) {
      case '\\':
        out += '\\\\';
        break;
      case '"':
        out += '\\"';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      default:
        if (code < 0x20 || code === 0x7f) {
          out += `\\x${code.toString(16).padStart(2, '0')}`;
        } else if (code >= 0x80 && code <= 0x9f) {
          out += `\\x${code.toString(16)}`;
        } else if (hasHiddenCharacters(char)) {
          // Legal in a string literal, but bidi controls reorder the code an
          // editor shows (CVE-2021-42574, "Trojan Source") and zero-width
          // characters hide: the escape is the same value, visibly.
          out += visibleText(char);
        } else {
          out += char;
        }
    }
  }
  return `${out}"`;
}

/** The call that opens a registered copy from a notebook. */
export function ddasOpenSnippet(location: string): string {
  return `ddas.open(${pythonStringLiteral(location)})`;
}
