/**
 * Where each value of a JSON text starts (1-based line), by JSON pointer, so an error can be
 * shown at the offending line. JSON.parse stays the judge of syntax; this only measures.
 */
export function lineIndex(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let i = 0;
  let line = 1;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) {
      if (text[i] === '\n') line++;
      i++;
    }
  };
  const string = (): string => {
    let out = '';
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        out += text[i + 1] ?? '';
        i += 2;
      } else out += text[i++];
    }
    i++;
    return out;
  };
  const value = (ptr: string): void => {
    ws();
    lines.set(ptr, line);
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      while (i < text.length && text[i] !== '}') {
        ws();
        const key = string();
        ws();
        i++; // colon
        value(`${ptr}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '[') {
      i++;
      let n = 0;
      ws();
      while (i < text.length && text[i] !== ']') {
        value(`${ptr}/${n++}`);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '"') string();
    else while (i < text.length && /[^\s,\]}]/.test(text[i]!)) i++;
  };
  try {
    value('');
  } catch {
    // a broken text: whatever was measured stands
  }
  return lines;
}

/** The 1-based line of a character offset. */
export function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}
