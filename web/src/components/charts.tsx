/**
 * Small hand-drawn SVG charts. Lines and marks use colours with at least 3:1 contrast on
 * white; every chart has a text alternative (a title and a summary a screen reader reads).
 */

export function Sparkline({ values, label }: { values: number[]; label: string }) {
  const w = 80;
  const h = 20;
  if (values.length === 0) return <span className="muted">no runs</span>;
  const pts = values.map((v, i) => {
    const x = values.length === 1 ? w / 2 : (i / (values.length - 1)) * (w - 4) + 2;
    return `${x.toFixed(1)},${(h - 2 - v * (h - 4)).toFixed(1)}`;
  });
  return (
    <svg
      className="spark"
      width={w}
      height={h}
      viewBox={`0 0 ${w} ${h}`}
      role="img"
      aria-label={label}
    >
      <polyline points={pts.join(' ')} fill="none" stroke="#1d4ed8" strokeWidth="1.5" />
      {values.length === 1 && (
        <circle cx={w / 2} cy={h - 2 - values[0]! * (h - 4)} r="2" fill="#1d4ed8" />
      )}
    </svg>
  );
}

export interface TrendPoint {
  label: string;
  rate: number | null;
}

/** Pass rate per run (0..1) with an optional threshold line. */
export function TrendChart({
  points,
  threshold,
  title,
}: {
  points: TrendPoint[];
  threshold?: number | null | undefined;
  title: string;
}) {
  const w = 480;
  const h = 160;
  const pad = { l: 40, r: 10, t: 10, b: 24 };
  const iw = w - pad.l - pad.r;
  const ih = h - pad.t - pad.b;
  const valid = points.filter((p): p is { label: string; rate: number } => p.rate !== null);
  const x = (i: number) => pad.l + (points.length <= 1 ? iw / 2 : (i / (points.length - 1)) * iw);
  const y = (r: number) => pad.t + (1 - r) * ih;
  const path = points
    .map((p, i) => (p.rate === null ? null : `${x(i).toFixed(1)},${y(p.rate).toFixed(1)}`))
    .filter((p) => p !== null)
    .join(' ');
  const last = valid.at(-1);
  const summary =
    valid.length === 0
      ? 'No runs yet.'
      : `${valid.length} runs; latest pass rate ${(last!.rate * 100).toFixed(1)}%` +
        (threshold !== null && threshold !== undefined
          ? `; threshold ${(threshold * 100).toFixed(0)}%.`
          : '.');
  return (
    <figure className="chart">
      <svg width="100%" viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${title}. ${summary}`}>
        {[0, 0.5, 1].map((r) => (
          <g key={r}>
            <line
              x1={pad.l}
              x2={w - pad.r}
              y1={y(r)}
              y2={y(r)}
              stroke="#767676"
              strokeWidth="0.5"
            />
            <text x={pad.l - 4} y={y(r) + 4} textAnchor="end" fontSize="10" fill="#333">
              {r * 100}%
            </text>
          </g>
        ))}
        {threshold !== null && threshold !== undefined && (
          <g>
            <line
              x1={pad.l}
              x2={w - pad.r}
              y1={y(threshold)}
              y2={y(threshold)}
              stroke="#b45309"
              strokeDasharray="6 3"
              strokeWidth="1.5"
            />
            <text x={w - pad.r} y={y(threshold) - 4} textAnchor="end" fontSize="10" fill="#92400e">
              threshold {(threshold * 100).toFixed(0)}%
            </text>
          </g>
        )}
        {path !== '' && <polyline points={path} fill="none" stroke="#1d4ed8" strokeWidth="2" />}
        {points.map((p, i) =>
          p.rate === null ? null : (
            <circle key={i} cx={x(i)} cy={y(p.rate)} r="3" fill="#1d4ed8">
              <title>{`${p.label}: ${(p.rate * 100).toFixed(1)}%`}</title>
            </circle>
          ),
        )}
      </svg>
      <figcaption>
        {title}: {summary}
      </figcaption>
    </figure>
  );
}

const STATUS_COLOUR: Record<string, string> = {
  passed: '#15803d',
  failed: '#b91c1c',
  error: '#7e22ce',
  skipped: '#6b7280',
};

/** A test's statuses over runs as a strip (colour plus a letter) and durations as bars. */
export function HistoryStrip({
  entries,
}: {
  entries: { status: string; durationMs: number | null; label: string }[];
}) {
  const cell = 14;
  const w = Math.max(entries.length * cell, cell);
  const maxMs = Math.max(1, ...entries.map((e) => e.durationMs ?? 0));
  return (
    <svg
      width={w}
      height={70}
      viewBox={`0 0 ${w} 70`}
      role="img"
      aria-label={`History of ${entries.length} runs: ${entries.map((e) => e.status).join(', ')}`}
    >
      {entries.map((e, i) => (
        <g key={i}>
          <rect
            x={i * cell + 1}
            y={0}
            width={cell - 2}
            height={cell}
            fill={STATUS_COLOUR[e.status] ?? '#6b7280'}
          >
            <title>{`${e.label}: ${e.status}`}</title>
          </rect>
          <text
            x={i * cell + cell / 2}
            y={cell - 3}
            fontSize="9"
            textAnchor="middle"
            fill="#fff"
            aria-hidden="true"
          >
            {e.status.slice(0, 1).toUpperCase()}
          </text>
          <rect
            x={i * cell + 2}
            y={70 - ((e.durationMs ?? 0) / maxMs) * 48}
            width={cell - 4}
            height={((e.durationMs ?? 0) / maxMs) * 48}
            fill="#1d4ed8"
          >
            <title>{`${e.label}: ${e.durationMs ?? 0} ms`}</title>
          </rect>
        </g>
      ))}
    </svg>
  );
}
