import { describe, expect, it } from 'vitest';
import { createXmlDecoder, UnsupportedEncodingError } from './xml-decoder.ts';

/** Decodes `bytes` fed `size` bytes at a time, as a network stream would deliver them. */
function decode(bytes: Buffer, size = 1): string {
  const d = createXmlDecoder();
  let out = '';
  for (let i = 0; i < bytes.length; i += size) out += d.write(bytes.subarray(i, i + size));
  return out + d.end();
}

const doc = (decl: string) =>
  `${decl}<testsuite name="Ünïcode €"><testcase name="naïve ✓"/></testsuite>`;

describe('the XML decoder', () => {
  it('reads UTF-8 by default and across chunk boundaries inside a character', () => {
    const text = doc('');
    expect(decode(Buffer.from(text, 'utf8'))).toBe(text);
    const declared = doc('<?xml version="1.0" encoding="UTF-8"?>');
    expect(decode(Buffer.from(declared, 'utf8'), 3)).toBe(declared);
  });

  it('drops a UTF-8 byte order mark', () => {
    const text = doc('<?xml version="1.0"?>');
    expect(decode(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]))).toBe(text);
  });

  it('reads UTF-16 in either byte order, with a byte order mark or without one', () => {
    const text = doc('<?xml version="1.0" encoding="UTF-16"?>');
    const le = Buffer.from(text, 'utf16le');
    const be = Buffer.from(le).swap16();
    expect(decode(Buffer.concat([Buffer.from([0xff, 0xfe]), le]))).toBe(text);
    expect(decode(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 5)).toBe(text);
    expect(decode(le, 2)).toBe(text);
    expect(decode(be)).toBe(text);
  });

  it('reads the single-byte encoding the declaration names', () => {
    const latin1 = '<?xml version="1.0" encoding="ISO-8859-1"?><testsuite name="café"/>';
    expect(decode(Buffer.from(latin1, 'latin1'))).toBe(latin1);
    // windows-1252 puts the euro sign at 0x80, where ISO-8859-1 has a control character.
    const cp1252 = Buffer.concat([
      Buffer.from("<?xml version='1.0' encoding='windows-1252'?><testsuite name='"),
      Buffer.from([0x80]),
      Buffer.from("'/>"),
    ]);
    expect(decode(cp1252, 7)).toContain("name='€'");
  });

  it('treats ASCII bytes declared as UTF-16 as UTF-8, as the bytes cannot be UTF-16', () => {
    const text = doc('<?xml version="1.0" encoding="UTF-16"?>');
    expect(decode(Buffer.from(text, 'utf8'))).toBe(text);
  });

  it('refuses an encoding it cannot decode, naming it', () => {
    const bytes = Buffer.from('<?xml version="1.0" encoding="x-klingon"?><testsuite/>');
    expect(() => decode(bytes, 1024)).toThrow(UnsupportedEncodingError);
    expect(() => decode(bytes, 1024)).toThrow('"x-klingon"');
  });

  it('decides on short and empty input too', () => {
    expect(decode(Buffer.from('<a/>'))).toBe('<a/>');
    expect(decode(Buffer.alloc(0))).toBe('');
  });
});
