// The client helpers live in the CI package (packages/cli); the server-only commands
// (report) reach Gatehouse through the same ones.
export * from '@gatehouse/cli';
export type { Auth, Problem } from '@gatehouse/cli';
