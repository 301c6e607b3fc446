/**
 * A hand-drawn SVG bar chart of bytes saved per day. No charting library:
 * one bar per day (gaps filled with zero so time reads left to right),
 * a max label and the first/last dates; each bar has a tooltip.
 */
import * as React from 'react';

import { formatBytes, plural } from './format';
import { IDayStats } from './types';

const WIDTH = 300;
const HEIGHT = 120;
const PAD_LEFT = 4;
const PAD_RIGHT = 4;
const PAD_TOP = 14;
const PAD_BOTTOM = 16;
/** Show at most this many days (the most recent). */
export const MAX_DAYS = 60;

/** `YYYY-MM-DD` → UTC midnight in ms, or NaN. */
function dayValue(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

function dayString(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Consecutive days from the first to the last entry (most recent
 * `maxDays`), days without data counted as zero.
 */
export function fillDays(days: IDayStats[], maxDays = MAX_DAYS): IDayStats[] {
  const valid = days.filter(day => !Number.isNaN(dayValue(day.day)));
  if (valid.length === 0) {
    return [];
  }
  const byDay = new Map<string, IDayStats>();
  for (const day of valid) {
    const previous = byDay.get(day.day);
    byDay.set(day.day, {
      day: day.day,
      reuses: (previous?.reuses ?? 0) + day.reuses,
      bytes_saved: (previous?.bytes_saved ?? 0) + day.bytes_saved
    });
  }
  const values = valid.map(day => dayValue(day.day));
  const last = Math.max(...values);
  const first = Math.max(Math.min(...values), last - (maxDays - 1) * 86400000);
  const filled: IDayStats[] = [];
  for (let t = first; t <= last; t += 86400000) {
    const key = dayString(t);
    filled.push(byDay.get(key) ?? { day: key, reuses: 0, bytes_saved: 0 });
  }
  return filled;
}

export function SavingsChart(props: { days: IDayStats[] }): React.ReactElement {
  const days = fillDays(props.days);
  const max = Math.max(1, ...days.map(day => day.bytes_saved));
  const plotWidth = WIDTH - PAD_LEFT - PAD_RIGHT;
  const plotHeight = HEIGHT - PAD_TOP - PAD_BOTTOM;
  const slot = plotWidth / Math.max(1, days.length);
  const gap = slot > 4 ? 1 : 0;
  const total = days.reduce((sum, day) => sum + day.bytes_saved, 0);

  return (
    <svg
      className="jp-ddas-chart"
      data-testid="ddas-savings-chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={`Bytes saved per day: ${formatBytes(total)} over ${plural(days.length, 'day')}`}
    >
      <line
        className="jp-ddas-chart-axis"
        x1={PAD_LEFT}
        x2={WIDTH - PAD_RIGHT}
        y1={HEIGHT - PAD_BOTTOM + 0.5}
        y2={HEIGHT - PAD_BOTTOM + 0.5}
      />
      <text className="jp-ddas-chart-label" x={PAD_LEFT} y={10}>
        max {formatBytes(max)}/day
      </text>
      {days.map((day, index) => (
        <DayBar
          key={day.day}
          day={day}
          x={PAD_LEFT + index * slot + gap / 2}
          width={Math.max(0.5, slot - gap)}
          height={(day.bytes_saved / max) * plotHeight}
        />
      ))}
      <DateLabels days={days} />
    </svg>
  );
}

/** One day's bar (at least 1 px when anything was saved), its numbers on hover. */
function DayBar(props: {
  day: IDayStats;
  x: number;
  width: number;
  height: number;
}): React.ReactElement {
  const { day, x, width } = props;
  const barHeight = day.bytes_saved > 0 ? Math.max(1, props.height) : 0;
  return (
    <rect
      className="jp-ddas-chart-bar"
      data-day={day.day}
      x={x}
      y={HEIGHT - PAD_BOTTOM - barHeight}
      width={width}
      height={barHeight}
    >
      <title>
        {`${day.day}: ${formatBytes(day.bytes_saved)} saved, ${plural(day.reuses, 'reuse')}`}
      </title>
    </rect>
  );
}

/** The first and the last day under the axis. */
function DateLabels(props: { days: IDayStats[] }): React.ReactElement | null {
  const { days } = props;
  if (days.length === 0) {
    return null;
  }
  return (
    <>
      <text
        className="jp-ddas-chart-label"
        x={PAD_LEFT}
        y={HEIGHT - 4}
        textAnchor="start"
      >
        {days[0].day}
      </text>
      {days.length > 1 && (
        <text
          className="jp-ddas-chart-label"
          x={WIDTH - PAD_RIGHT}
          y={HEIGHT - 4}
          textAnchor="end"
        >
          {days[days.length - 1].day}
        </text>
      )}
    </>
  );
}
