import type { FastifyRequest } from 'fastify';
import { AppError, BadInput } from '../errors.ts';

/** The body types a route takes: its schema's `consumes`, else JSON. */
export function acceptedTypes(request: FastifyRequest): readonly string[] {
  const schema = request.routeOptions.schema as { consumes?: readonly string[] } | undefined;
  const consumes = schema?.consumes;
  return consumes !== undefined && consumes.length > 0 ? consumes : ['application/json'];
}

/** The request's media type, lower case, without parameters ('' when none was sent). */
export function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

const orList = (items: readonly string[]) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;

const GZIP = new Set(['application/gzip', 'application/x-gzip']);

/** The 415 for a body in a type the route does not take, naming the types it does. */
export function unsupportedMediaType(request: FastifyRequest, lead = ''): AppError {
  const accepted = acceptedTypes(request);
  const got = mediaType(request);
  // A compressed file is sent as what it contains, with the compression as its encoding.
  const xml = accepted.find((t) => t.endsWith('/xml'));
  if (lead === '' && GZIP.has(got) && xml !== undefined)
    lead = `Send gzip-compressed XML as Content-Type: ${xml} with Content-Encoding: gzip (or as a .gz part of multipart/form-data). `;
  return new AppError(
    415,
    'unsupported_media_type',
    `${lead}This route accepts ${orList(accepted)}, not ${got === '' ? 'a body without a Content-Type' : got}`,
    { accepted },
  );
}

/** A JSON document never starts with `<`; an XML one (after a byte order mark) does. */
export const looksLikeXml = (body: string) => /^\ufeff?\s*</.test(body);

/**
 * An XML body sent as `application/json`: a 415 saying which type to use on a route that
 * takes XML (uploads), a 400 saying the route wants JSON otherwise.
 */
export function xmlSentAsJson(request: FastifyRequest): AppError {
  const accepted = acceptedTypes(request);
  const xml = accepted.find((t) => t.endsWith('/xml'));
  if (xml !== undefined)
    return unsupportedMediaType(
      request,
      `The body looks like XML; send it as ${xml} (Content-Type: ${xml}), not application/json. `,
    );
  return new BadInput(
    'The body looks like XML, but this route takes JSON (Content-Type: application/json)',
  );
}

/** Whether the request carries a body in a type its route does not take. */
export function refusedType(request: FastifyRequest): boolean {
  const type = mediaType(request);
  if (type === '' || request.method === 'GET' || request.method === 'HEAD') return false;
  return !acceptedTypes(request).includes(type);
}
