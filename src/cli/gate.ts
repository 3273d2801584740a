// `gatehouse gate` is the CI package's (packages/cli).
export { gate, gateExitCode, GATE_USAGE, renderGates, report } from '@gatehouse/cli';
export type { GateReport } from '@gatehouse/cli';
