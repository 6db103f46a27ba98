// The report page's script (plain JavaScript, inlined into report.html with uPlot, so the report opens
// offline from any folder). It reads the run (or sweep) data from <script id="run-data"> and draws one
// uPlot chart per tracked quantity, with every catapult spike marked as a dashed line at its peak.
/* global uPlot */
(function () {
  const data = JSON.parse(document.getElementById('run-data').textContent);
  const charts = document.getElementById('charts');
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

  function markers(steps) {
    return {
      hooks: {
        draw: [
          (u) => {
            const ctx = u.ctx;
            ctx.save();
            ctx.strokeStyle = 'rgba(214, 39, 40, 0.6)';
            ctx.setLineDash([4, 4]);
            ctx.lineWidth = 1;
            for (const s of steps) {
              const x = Math.round(u.valToPos(s, 'x', true));
              if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
      },
    };
  }

  // Tick labels that stay readable from 1e-6 to 1e6 (uPlot's default prints small log ticks as 0).
  function tick(v) {
    if (v === null || v === undefined) return '';
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-2 || a >= 1e5) ? v.toExponential(0) : String(+v.toPrecision(3));
  }

  // One chart: x = steps, series = [{label, values}], log = log-scale y.
  function chart(id, title, x, series, options) {
    const present = series.filter((s) => s.values.some((v) => v !== null && v !== undefined && Number.isFinite(v)));
    if (present.length === 0) return;
    const box = document.createElement('section');
    box.className = 'chart';
    box.id = `chart-${id}`;
    const h = document.createElement('h2');
    h.textContent = title;
    box.appendChild(h);
    charts.appendChild(box);
    const log = Boolean(options && options.log);
    const banded = present.map((s, i) => ({ s, i })).filter(({ s }) => s.band);
    // A log axis cannot show zero or negative values: they become gaps, like a diverged run's NaN.
    const clean = (v) => (v === null || v === undefined || !Number.isFinite(v) || (log && v <= 0) ? null : v);
    new uPlot(
      {
        width: 760,
        height: 260,
        scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
        axes: [{ label: 'step' }, { label: (options && options.yLabel) || '', size: 70, values: (u, vals) => vals.map(tick) }],
        series: [
          { label: 'step' },
          // A series of values that have not converged is drawn as hollow points only, never joined into a line.
          ...present.map((s, i) => (s.pointsOnly
            ? { label: s.label, stroke: s.color || colors[i % colors.length], width: 0, paths: () => null, points: { show: true, size: 5, fill: '#fff' } }
            : { label: s.label, stroke: s.color || colors[i % colors.length], width: 1.5, dash: s.dash, spanGaps: false, points: { show: x.length < 60 } })),
          // A series' band (its least and largest value over seeds): two thin lines with the space between filled.
          ...banded.flatMap(({ s, i }) => ['max', 'min'].map((end) => ({ label: `${s.label} (${end} over seeds)`, stroke: `${s.color || colors[i % colors.length]}55`, width: 0.5, spanGaps: false, points: { show: false } }))),
        ],
        bands: banded.map((_, j) => ({ series: [1 + present.length + 2 * j, 2 + present.length + 2 * j], fill: `${banded[j].s.color || colors[banded[j].i % colors.length]}22` })),
        plugins: [markers(data.markers || [])],
        cursor: { sync: { key: 'run' } },
      },
      [x, ...present.map((s) => s.values.map(clean)), ...banded.flatMap(({ s }) => [s.band.hi.map(clean), s.band.lo.map(clean)])],
      box,
    );
  }

  function runCharts(run) {
    const r = run.records;
    const x = r.map((p) => p.step);
    const col = (k) => r.map((p) => (p[k] === undefined ? null : p[k]));
    // A tracked eigenvalue (or what is derived from it) split by the convergence of its eigenvalue: the
    // converged values, and those whose residual is above the run's tolerance.
    const notConverged = (p, res) => p[res] !== undefined && p[res] !== null && !(p[res] <= data.tolerance);
    const split = (k, res) => [r.map((p) => (p[k] === undefined || notConverged(p, res) ? null : p[k])), r.map((p) => (p[k] !== undefined && notConverged(p, res) ? p[k] : null))];
    const [lambdaOk, lambdaNot] = split('lambda', 'lambdaResidual');
    const [minOk, minNot] = split('lambdaMin', 'lambdaMinResidual');
    const [etaOk, etaNot] = split('etaCrit', 'lambdaBatchResidual');
    const [hessOk, hessNot] = split('etaCritHessian', 'lambdaHessianResidual');
    const [precOk, precNot] = split('etaCritPreconditioned', 'lambdaPreconditionedResidual');
    const hasS = r.some((p) => p.lossTopS !== undefined);
    chart('loss', 'Training loss', x, [
      { label: 'batch loss', values: col('loss') },
      { label: 'tracked-set loss', values: col('setLoss') },
      { label: hasS ? `L≤${run.top || 's'}` : 'L≤1', values: col(hasS ? 'lossTopS' : 'lossTop') },
      { label: hasS ? `L>${run.top || 's'}` : 'L>1', values: col(hasS ? 'lossRestS' : 'lossRest') },
    ], { log: true, yLabel: 'loss' });
    const n = run.trackedExamples;
    chart('lambda', 'λ_max of the tracked set\'s NTK, and n/η (catapult when λ_max is above it)', x, [
      { label: 'λ_max', values: lambdaOk },
      { label: 'λ_max (not converged)', values: lambdaNot, pointsOnly: true, color: colors[0] },
      { label: 'n/η', values: r.map((p) => (n && p.lr > 0 ? n / p.lr : null)), dash: [6, 4] },
      { label: 'λ_min', values: minOk },
      { label: 'λ_min (not converged)', values: minNot, pointsOnly: true, color: colors[2] },
    ], { log: true, yLabel: 'eigenvalue' });
    chart('eta', 'η against η_crit of each batch', x, [
      { label: 'η', values: col('lr') },
      { label: 'η_crit(batch) = b/λ_max(K_batch)', values: etaOk },
      { label: 'η_crit(batch) (not converged)', values: etaNot, pointsOnly: true, color: colors[1] },
      { label: 'η_crit^P(batch) = b/λ_max(J·P·Jᵀ)', values: precOk, dash: [2, 3] },
      { label: 'η_crit^P(batch) (not converged)', values: precNot, pointsOnly: true, color: colors[2] },
      { label: '2/λ_max(H)', values: hessOk, dash: [6, 4] },
      { label: '2/λ_max(H) (not converged)', values: hessNot, pointsOnly: true, color: colors[2] },
    ], { log: true, yLabel: 'rate' });
    chart('schedule', 'Learning-rate schedule', x, [{ label: 'η', values: col('lr') }], { yLabel: 'rate' });
    chart('alignment', 'AGOP alignment cos(G, G*)', x, [{ label: 'alignment', values: col('alignment') }], { yLabel: 'cosine' });
    chart('adagrad', 'AdaGrad: effective rate against the report\'s bound (a bound: the exact critical rate is η_crit^P above)', x, [
      { label: 'η/s_t', values: col('adagradRate') },
      { label: 's_t·n/λ_max', values: col('adagradBound') },
    ], { log: true, yLabel: 'rate' });
    chart('condition', 'Condition number of the tracked set\'s NTK', x, [{ label: 'λ_max/λ_min', values: col('condition') }], { log: true });
    const e = run.evals;
    const ex = e.map((p) => p.step);
    const ecol = (k) => e.map((p) => (p[k] === undefined ? null : p[k]));
    chart('test', 'Evaluation: loss', ex, [
      { label: 'train loss', values: ecol('trainLoss') },
      { label: 'validation loss', values: ecol('valLoss') },
      { label: 'test loss', values: ecol('testLoss') },
    ], { log: true, yLabel: 'loss' });
    chart('accuracy', 'Evaluation: accuracy', ex, [
      { label: 'train', values: ecol('trainAccuracy') },
      { label: 'validation', values: ecol('valAccuracy') },
      { label: 'test', values: ecol('testAccuracy') },
    ], { yLabel: 'accuracy' });
  }

  function sweepCharts(sweep) {
    // Each combination's mean over its seeds, with the band from the least to the largest seed.
    const steps = Math.max(...sweep.runs.map((r) => r.loss.mean.length));
    const x = Array.from({ length: steps }, (_, i) => i);
    const curve = (r, q) => ({ label: `${r.label} (${r.seeds} seed${r.seeds > 1 ? 's' : ''})`, values: x.map((i) => r[q].mean[i] ?? null), band: r.seeds > 1 ? { lo: x.map((i) => r[q].lo[i] ?? null), hi: x.map((i) => r[q].hi[i] ?? null) } : null });
    chart('loss', 'Training loss: mean over seeds, band from the least to the largest', x, sweep.runs.map((r) => curve(r, 'loss')), { log: true, yLabel: 'loss' });
    chart('lambda', 'λ_max of the tracked set: mean over seeds, band from the least to the largest', x, sweep.runs.map((r) => curve(r, 'lambda')), { log: true });
  }

  if (data.kind === 'sweep') sweepCharts(data);
  else runCharts(data);
  window.__reportReady = true;
})();
