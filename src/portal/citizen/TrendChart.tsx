import { useEffect, useId, useRef, useState } from 'react';

export interface TrendPoint {
  when: string;
  value: number;
  flag?: string;
}

/**
 * A small line chart of one analyte over time with the reference range as a band. Hand-written
 * SVG: a title and description for screen readers, the values also in a table beside it.
 */
export function TrendChart(props: { title: string; description: string; unit?: string; points: TrendPoint[]; low?: number; high?: number; formatDate: (iso: string) => string; rangeLabel: string }) {
  const id = useId();
  const { points, low, high } = props;
  // Drawn at the width it is shown at, so its text stays readable on a phone instead of shrinking.
  const box = useRef<SVGSVGElement>(null);
  const [W, setW] = useState(640);
  useEffect(() => {
    const el = box.current?.parentElement;
    if (!el) return;
    const measure = () => setW(Math.max(300, Math.min(900, Math.round(el.getBoundingClientRect().width))));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const H = W < 480 ? 240 : 280;
  const m = { left: 60, right: 20, top: 36, bottom: 48 };
  const values = [...points.map((p) => p.value), ...(low !== undefined ? [low] : []), ...(high !== undefined ? [high] : [])];
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (min === max) {
    min -= 1;
    max += 1;
  }
  const pad = (max - min) * 0.1;
  min -= pad;
  max += pad;
  const times = points.map((p) => new Date(p.when).getTime());
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const x = (t: number) => m.left + (t1 === t0 ? (W - m.left - m.right) / 2 : ((t - t0) / (t1 - t0)) * (W - m.left - m.right));
  const y = (v: number) => m.top + (1 - (v - min) / (max - min)) * (H - m.top - m.bottom);
  const ticks = Array.from({ length: 5 }, (_, i) => min + ((max - min) * i) / 4);
  const digits = max - min < 10 ? 1 : 0;
  const labelled = points.length <= 2 || (points.length === 3 && W >= 480) ? points.map((_, i) => i) : W < 480 ? [0, points.length - 1] : [0, Math.floor((points.length - 1) / 2), points.length - 1];
  const bandTop = y(high ?? max);
  const bandBottom = y(low ?? min);
  return (
    <svg ref={box} className="sh-chart" width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-t ${id}-d`} data-testid="trend-chart">
      <title id={`${id}-t`}>{props.title}</title>
      <desc id={`${id}-d`}>{props.description}</desc>
      {(low !== undefined || high !== undefined) && (
        <g data-testid="reference-band">
          <rect x={m.left} y={bandTop} width={W - m.left - m.right} height={Math.max(0, bandBottom - bandTop)} fill="#dff0e2" />
          <text x={W - m.right - 4} y={bandTop + 16} textAnchor="end" fontSize="13" fill="#174f21">
            {props.rangeLabel}
          </text>
        </g>
      )}
      {ticks.map((v) => (
        <g key={v}>
          <line x1={m.left} x2={W - m.right} y1={y(v)} y2={y(v)} stroke="#d0d0d0" />
          <text x={m.left - 8} y={y(v) + 4} textAnchor="end" fontSize="13" fill="#1c1c1c">
            {v.toFixed(digits)}
          </text>
        </g>
      ))}
      {props.unit && (
        <text x={8} y={16} fontSize="13" fill="#1c1c1c">
          {props.unit}
        </text>
      )}
      <line x1={m.left} x2={W - m.right} y1={H - m.bottom} y2={H - m.bottom} stroke="#1c1c1c" />
      {labelled.map((i) => (
        <text key={i} x={x(times[i])} y={H - m.bottom + 20} textAnchor={i === 0 && points.length > 1 ? 'start' : i === points.length - 1 && points.length > 1 ? 'end' : 'middle'} fontSize="13" fill="#1c1c1c">
          {props.formatDate(points[i].when)}
        </text>
      ))}
      <polyline fill="none" stroke="#015a73" strokeWidth="2.5" points={points.map((p, i) => `${x(times[i])},${y(p.value)}`).join(' ')} />
      {points.map((p, i) => {
        const out = p.flag === 'high' || p.flag === 'low' || p.flag === 'abnormal';
        return (
          <circle key={i} cx={x(times[i])} cy={y(p.value)} r={out ? 6 : 5} fill={out ? '#b30000' : '#015a73'} stroke="#fff" strokeWidth="1.5" data-flag={p.flag}>
            <title>{`${props.formatDate(p.when)}: ${p.value}${props.unit ? ` ${props.unit}` : ''}`}</title>
          </circle>
        );
      })}
    </svg>
  );
}
