// The one way a free-text name becomes part of an id or a file name (run folders, local model ids,
// models given by path, export file names, reader-study question ids). Pure, without Node imports:
// the renderer uses it too.

export interface SlugOptions {
  /** The longest slug (default 40). */
  maxLength?: number;
  /** Keep upper-case letters (file names); by default the text is lower-cased (ids). */
  keepCase?: boolean;
}

/**
 * Letters, digits, '.', '_' and '-' only: each run of other characters becomes one '-', and the slug
 * starts with a letter or digit. May be empty (callers supply their own fallback).
 */
export function slug(text: string, options: SlugOptions = {}): string {
  const { maxLength = 40, keepCase = false } = options;
  return (keepCase ? text : text.toLowerCase())
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, maxLength);
}
