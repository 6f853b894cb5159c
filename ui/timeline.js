// Timeline of trust changes: per time bucket, how many appraisals turned a host trusted (a pass)
// and how many turned one untrusted (a fail). uPlot draws it; a sentence and a table say the same
// for screen readers.
import uPlot from './vendor/uPlot.esm.js';
import { html, Component, createRef } from './html.js';
import { plural } from './format.js';

export const WINDOWS = {
  hour: { label: 'last hour', ms: 3_600_000, bucketMs: 60_000 },
  day: { label: 'last 24 hours', ms: 86_400_000, bucketMs: 3_600_000 },
  week: { label: 'last 7 days', ms: 7 * 86_400_000, bucketMs: 6 * 3_600_000 },
};

/** Bucket starts (seconds, as uPlot wants) and the counts of each kind of change in them. */
export function bucketize(events, window, now = Date.now()) {
  const end = Math.ceil(now / window.bucketMs) * window.bucketMs;
  const n = Math.round(window.ms / window.bucketMs);
  const start = end - n * window.bucketMs;
  const xs = [];
  const passes = new Array(n).fill(0);
  const fails = new Array(n).fill(0);
  for (let i = 0; i < n; i++) xs.push((start + i * window.bucketMs) / 1000);
  for (const e of events) {
    const i = Math.floor((Date.parse(e.at) - start) / window.bucketMs);
    if (i < 0 || i >= n) continue;
    if (e.kind === 'trusted') passes[i] += 1;
    else if (e.kind === 'untrusted') fails[i] += 1;
  }
  return { xs, passes, fails };
}

const sum = (a) => a.reduce((s, v) => s + v, 0);

export class Timeline extends Component {
  chartRef = createRef();

  componentDidMount() {
    this.draw();
    this.onResize = () => this.plot?.setSize(this.size());
    window.addEventListener('resize', this.onResize);
  }

  componentDidUpdate() {
    this.draw();
  }

  componentWillUnmount() {
    window.removeEventListener('resize', this.onResize);
    this.plot?.destroy();
  }

  size() {
    return { width: Math.max(280, this.chartRef.current?.clientWidth ?? 600), height: 180 };
  }

  draw() {
    const { xs, passes, fails } = bucketize(this.props.events, WINDOWS[this.props.window]);
    // Stacked: the fail bar stands on the pass bar. Empty buckets are gaps, not zero-height bars.
    const data = [xs, passes.map((p, i) => p + fails[i] || null), passes.map((p) => p || null)];
    this.fails = fails;
    if (this.plot && this.plotWindow === this.props.window) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.plotWindow = this.props.window;
    const bars = uPlot.paths.bars({ size: [0.8, 40], gap: 1 });
    this.plot = new uPlot(
      {
        ...this.size(),
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(2, max)] } },
        axes: [{}, { label: 'hosts', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000] }],
        series: [
          {},
          {
            label: 'turned untrusted (fail)',
            stroke: '#c62828',
            fill: 'rgba(198,40,40,0.75)',
            paths: bars,
            points: { show: false },
            value: (_u, _v, _s, i) => (i == null ? '--' : String(this.fails[i] ?? 0)),
          },
          { label: 'turned trusted (pass)', stroke: '#1a7f37', fill: 'rgba(26,127,55,0.75)', paths: bars, points: { show: false }, value: (_u, v, _s, i) => (i == null ? '--' : String(v ?? 0)) },
        ],
      },
      data,
      this.chartRef.current,
    );
  }

  render({ events, window, truncated }) {
    const w = WINDOWS[window];
    const { xs, passes, fails } = bucketize(events, w);
    const summary = `In the ${w.label}: ${plural(sum(passes), 'appraisal')} turned a host trusted, ${plural(sum(fails), 'appraisal')} turned a host untrusted.`;
    const busy = xs.map((x, i) => ({ x, p: passes[i], f: fails[i] })).filter((b) => b.p + b.f > 0);
    return html`<figure class="timeline">
      <div ref=${this.chartRef} class="chart" role="img" aria-label=${`Chart of trust changes. ${summary}`}></div>
      <figcaption><span class="timeline-summary">${summary}</span>${truncated ? ' Only the first 100,000 changes of this window are counted.' : ''}</figcaption>
      ${busy.length > 0
        ? html`<details><summary>As a table</summary><table class="compact">
            <caption>Trust changes per ${w.bucketMs >= 3_600_000 ? 'period' : 'minute'}</caption>
            <thead><tr><th scope="col">From</th><th scope="col">Turned trusted</th><th scope="col">Turned untrusted</th></tr></thead>
            <tbody>${busy.map((b) => html`<tr><td>${new Date(b.x * 1000).toLocaleString('en-GB')}</td><td class="num">${b.p}</td><td class="num">${b.f}</td></tr>`)}</tbody>
          </table></details>`
        : null}
    </figure>`;
  }
}
