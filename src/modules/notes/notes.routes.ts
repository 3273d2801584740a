import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page } from '../../lib/pagination.ts';
import { IssueParams } from '../issues/issues.schema.ts';
import { CreateNoteBody, ListNotesQuery, NoteOut } from './notes.schema.ts';
import { createNoteService } from './notes.service.ts';

export const noteRoutes: Module = (app, { database, clock }) => {
  const notes = createNoteService({ db: database.db, clock });
  const tags = ['notes'];
  const base = '/api/v1/orgs/:org/projects/:project/issues/:number/notes';

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'A lesson learned, decision, process improvement, status or priority note',
        params: IssueParams,
        body: CreateNoteBody,
        response: { 201: NoteOut },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await notes.create(callerOf(req), req.params, req.body)),
  );
  app.get(
    base,
    {
      schema: {
        summary: "List an issue's notes",
        tags,
        params: IssueParams,
        querystring: ListNotesQuery,
        response: { 200: Page(NoteOut) },
      },
    },
    (req) => notes.list(callerOf(req), req.params, req.query),
  );
};
