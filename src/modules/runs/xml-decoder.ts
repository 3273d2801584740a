import { TextDecoder } from 'node:util';

/**
 * Bytes of an XML document to text in the document's own encoding, as XML 1.0 appendix F
 * detects it: a byte order mark, else the first bytes of `<?xml`, else the `encoding` of
 * the XML declaration, else UTF-8. Decoding streams; malformed bytes become U+FFFD.
 */
export interface XmlDecoder {
  write(chunk: Buffer): string;
  end(): string;
}

/** The declared encoding is not one this runtime can decode. */
export class UnsupportedEncodingError extends Error {
  constructor(readonly label: string) {
    super(`the declared encoding "${label}" is not supported`);
    this.name = 'UnsupportedEncodingError';
  }
}

/** Enough bytes to hold a BOM and any sane XML declaration. */
const SNIFF_BYTES = 1024;
const DECLARATION = /^<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z][\w.:-]{0,39})["']/;

function detect(head: Buffer): string {
  const [b0, b1, b2, b3] = head;
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return 'utf-8';
  if (b0 === 0xff && b1 === 0xfe) return 'utf-16le';
  if (b0 === 0xfe && b1 === 0xff) return 'utf-16be';
  if (b0 === 0x3c && b1 === 0x00 && b2 === 0x3f && b3 === 0x00) return 'utf-16le';
  if (b0 === 0x00 && b1 === 0x3c && b2 === 0x00 && b3 === 0x3f) return 'utf-16be';
  // ASCII-compatible: the declaration, if any, names the encoding.
  const label = DECLARATION.exec(head.toString('latin1'))?.[1];
  // Bytes that read as ASCII cannot be UTF-16 whatever the declaration claims.
  if (label === undefined || /^utf-?16/i.test(label)) return 'utf-8';
  return label;
}

export function createXmlDecoder(): XmlDecoder {
  let decoder: TextDecoder | null = null;
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  const start = (): string => {
    const head = Buffer.concat(pending);
    pending = [];
    const label = detect(head);
    try {
      decoder = new TextDecoder(label);
    } catch {
      throw new UnsupportedEncodingError(label);
    }
    return decoder.decode(head, { stream: true });
  };

  return {
    write(chunk) {
      if (decoder !== null) return decoder.decode(chunk, { stream: true });
      pending.push(chunk);
      pendingBytes += chunk.length;
      // Decide once a declaration can have ended ('>') or enough bytes are in.
      if (pendingBytes < 4 || (pendingBytes < SNIFF_BYTES && !chunk.includes(0x3e))) return '';
      return start();
    },
    end() {
      const rest = decoder === null ? start() : '';
      return rest + decoder!.decode();
    },
  };
}
