/*
 * The retailflow dashboard: plain browser JavaScript, no build step. It reads the JSON endpoints
 * under /api/v1/ (see /docs) and draws with ECharts (window.echarts, served from node_modules).
 * Every number shown is the API's exact decimal text, rounded for display only.
 */
'use strict';

(function () {
  const REFRESH_MS = 30_000;
  const COLORS = { pass: '#3aa76d', warn: '#e9a23b', fail: '#d64545', batch: '#2f6fdb', stream: '#8b5cf6' };
  const SERIES = ['#2f6fdb', '#3aa76d', '#d64545', '#e9a23b', '#8b5cf6', '#0ea5a4', '#f97316', '#64748b'];
  const SEVERITIES = ['pass', 'warn', 'fail'];

  const state = { mode: 'all', from: null, to: null, charts: {}, timer: null, quality: null, selectedDay: null, loading: false, pending: false, timings: {} };
  const $ = (id) => document.getElementById(id);

  // ---- formatting (exact decimal strings in, display text out) ----

  /** "1234567.125" -> "£1,234,567.13": half-up on the exact text, as lib/analytics/money.ts formatPounds. */
  function pounds(text) {
    if (text === null || text === undefined) return '–';
    const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(String(text).trim());
    if (!m) return String(text);
    const [, sign, whole, frac = ''] = m;
    let cents = BigInt(whole + frac.padEnd(2, '0').slice(0, 2));
    if (Number(frac.charAt(2) || '0') >= 5) cents += 1n;
    const s = cents.toString().padStart(3, '0');
    const w = s.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return `${sign && cents > 0n ? '-' : ''}£${w}.${s.slice(-2)}`;
  }
  const int = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-GB'));
  const pct = (x, digits = 1) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)}%`);
  const num = (text) => (text === null || text === undefined ? null : Number(text));
  const shortTime = (iso) => (iso ? iso.replace('T', ' ').slice(0, 19) : '–');

  // ---- DOM helpers (textContent only: nothing from the data is parsed as HTML) ----

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
    return node;
  }
  const link = (href, text, attrs) => (href ? el('a', { href, target: '_blank', rel: 'noopener', ...attrs }, text) : el('span', attrs, text));
  const sev = (s) => el('span', { class: `sev ${s}` }, s);

  function table(node, columns, rows) {
    node.replaceChildren(
      el('thead', null, el('tr', null, columns.map((c) => el('th', { class: c.num ? 'num' : null }, c.title)))),
      el('tbody', null, rows.length === 0
        ? el('tr', null, el('td', { colspan: columns.length, class: 'note' }, 'nothing in this range'))
        : rows.map((r) => el('tr', c_attrs(r), columns.map((c) => {
          const v = c.cell(r);
          return el('td', { class: [c.num ? 'num' : '', c.wrap ? 'wrap' : ''].join(' ').trim() || null, ...(c.attrs ? c.attrs(r) : {}) }, v);
        })))),
    );
    function c_attrs(r) {
      return r && r.__attrs ? r.__attrs : null;
    }
  }

  function metric(name, value, attrs, extra) {
    return el('div', { class: 'metric' }, el('div', { class: 'name' }, name), el('div', { class: 'value', ...attrs }, value), extra || null);
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { accept: 'application/json' } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(`${url}: ${response.status} ${body.message || response.statusText}`);
    return body;
  }

  function chart(id) {
    let c = state.charts[id];
    if (!c) {
      c = window.echarts.init($(id), null, { renderer: 'canvas' });
      state.charts[id] = c;
    }
    return c;
  }

  function panelError(id, err) {
    const node = $(id);
    if (node) node.replaceChildren(el('p', { class: 'note error-note' }, String(err.message || err)));
  }

  // ---- KPI tiles and totals ----

  function shareBlock(source) {
    if (!source) return el('div', { class: 'share', 'data-testid': 'share' }, 'stream vs batch: not recorded for these days');
    const so = source.stream_order_share;
    const sl = source.stream_line_share;
    const streamPart = so === null ? 0 : so;
    return el('div', { class: 'share', 'data-testid': 'share', 'data-stream-orders': source.stream_orders, 'data-batch-orders': source.batch_orders },
      `stream ${pct(so)} of orders (${int(source.stream_orders)}) · ${pct(sl)} of lines · batch ${pct(so === null ? null : 1 - so)}`,
      el('div', { class: 'share-bar', title: `batch ${int(source.batch_orders)} orders, stream ${int(source.stream_orders)} orders` },
        el('div', { class: 'b', style: `width:${((1 - streamPart) * 100).toFixed(2)}%` }),
        el('div', { class: 's', style: `width:${(streamPart * 100).toFixed(2)}%` })));
  }

  function delta(current, previous) {
    const c = Number(current);
    const p = Number(previous);
    if (!Number.isFinite(c) || !Number.isFinite(p) || p === 0) return el('div', { class: 'delta flat' }, 'vs 7 before: –');
    const d = (c - p) / Math.abs(p);
    return el('div', { class: `delta ${d > 0.0005 ? 'up' : d < -0.0005 ? 'down' : 'flat'}` }, `vs 7 before: ${d > 0 ? '+' : ''}${(d * 100).toFixed(1)}%`);
  }

  const TILE_METRICS = [
    ['orders', 'Orders', (p) => int(p.orders)],
    ['gross_revenue', 'Gross revenue', (p) => pounds(p.gross_revenue)],
    ['net_revenue', 'Net revenue', (p) => pounds(p.net_revenue)],
    ['refunds', 'Refunds', (p) => pounds(p.refunds)],
    ['avg_order_value', 'Avg order value', (p) => pounds(p.avg_order_value)],
    ['unique_customers', 'Unique customers', (p) => int(p.unique_customers)],
  ];

  function tile(key, period, compare) {
    const dates = period.from === period.to ? period.from : `${period.from} – ${period.to}`;
    return el('div', { class: 'tile', 'data-testid': `tile-${key}`, 'data-from': period.from, 'data-to': period.to },
      el('div', { class: 'tile-head' }, el('strong', null, period.label), el('span', null, `${dates}${period.days_with_data === 0 ? ' · no data' : ''}`)),
      el('div', { class: 'metrics' }, TILE_METRICS.map(([m, name, fmt]) =>
        metric(name, fmt(period), { 'data-testid': `tile-${key}-${m}`, 'data-value': period[m] },
          compare ? el('div', null, delta(period[m], compare[m]), el('div', { class: 'delta flat' }, `7 before: ${fmt(compare)}`)) : null))),
      shareBlock(period.source));
  }

  function renderTiles(k, range) {
    const t = k.tiles;
    const note = $('tiles-note');
    if (!t.anchor) {
      note.textContent = 'No analysed day yet: run the daily analytics (retailflow analytics run --date D).';
      $('tiles').replaceChildren();
      return;
    }
    note.textContent = t.anchor_is_today
      ? `Today (${t.today}, ${range.time_zone}) so far, the day before, and the 7 days to today against the 7 before.`
      : `Today (${t.today}, ${range.time_zone}) has no data yet: the tiles count back from the newest day with data, ${t.anchor}.`;
    $('tiles').replaceChildren(tile('anchor_day', t.anchor_day), tile('previous_day', t.previous_day), tile('last_7', t.last_7, t.previous_7));
  }

  function renderTotals(k) {
    const p = k.totals;
    $('totals-note').textContent = `${k.range.from} – ${k.range.to}: ${p.days_with_data} analysed days.`;
    $('totals').replaceChildren(
      metric('Gross revenue', pounds(p.gross_revenue), { 'data-testid': 'range-gross-revenue', 'data-value': p.gross_revenue }),
      metric('Net revenue', pounds(p.net_revenue), { 'data-testid': 'range-net-revenue', 'data-value': p.net_revenue }),
      metric('Refunds', pounds(p.refunds), { 'data-testid': 'range-refunds', 'data-value': p.refunds }),
      metric('Orders', int(p.orders), { 'data-testid': 'range-orders', 'data-value': p.orders }),
      metric('Cancelled orders', int(p.cancelled_orders), { 'data-testid': 'range-cancelled', 'data-value': p.cancelled_orders }),
      metric('Avg order value', pounds(p.avg_order_value), { 'data-testid': 'range-aov', 'data-value': p.avg_order_value }),
      metric('Unique customers', int(p.unique_customers), { 'data-testid': 'range-customers', 'data-value': p.unique_customers }),
      el('div', null, shareBlock(p.source)),
    );
  }

  // ---- charts ----

  const baseOption = () => ({ animation: false, textStyle: { fontFamily: 'system-ui, sans-serif' }, color: SERIES });
  const moneyAxis = (name) => ({ type: 'value', name, axisLabel: { formatter: (v) => (Math.abs(v) >= 1000 ? `£${(v / 1000).toFixed(0)}k` : `£${v}`) } });

  function renderTrend(k) {
    const dates = k.days.map((d) => d.date);
    chart('chart-trend').setOption({
      ...baseOption(),
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 60, right: 60, top: 36, bottom: 56 },
      dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
      xAxis: { type: 'category', data: dates },
      yAxis: [moneyAxis('revenue'), { type: 'value', name: 'orders', splitLine: { show: false } }],
      series: [
        { name: 'Gross revenue', type: 'line', showSymbol: false, data: k.days.map((d) => num(d.gross_revenue)) },
        { name: 'Net revenue', type: 'line', showSymbol: false, data: k.days.map((d) => num(d.net_revenue)) },
        { name: 'Refunds', type: 'line', showSymbol: false, data: k.days.map((d) => num(d.refunds)), color: COLORS.fail },
        { name: 'Orders', type: 'bar', yAxisIndex: 1, data: k.days.map((d) => d.orders), color: '#93b4ea', barMaxWidth: 14 },
        { name: 'Cancelled orders', type: 'bar', yAxisIndex: 1, data: k.days.map((d) => d.cancelled_orders), color: COLORS.warn, barMaxWidth: 14 },
      ],
    }, true);
  }

  function renderCountries(c) {
    const rows = c.countries;
    chart('chart-countries').setOption({
      ...baseOption(),
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => pounds(String(v)) },
      grid: { left: 120, right: 30, top: 10, bottom: 30 },
      xAxis: moneyAxis(''),
      yAxis: { type: 'category', inverse: true, data: rows.map((r) => (r.is_other ? `Other (${r.countries})` : r.country)) },
      series: [{ type: 'bar', name: 'Gross revenue', data: rows.map((r) => ({ value: num(r.gross_revenue), itemStyle: { color: r.is_other ? '#94a3b8' : COLORS.batch } })) }],
    }, true);
    const total = Number(c.total_revenue) || 1;
    table($('countries-table'), [
      { title: 'Country', cell: (r) => (r.is_other ? `Other (${r.countries} countries)` : r.country) },
      { title: 'Gross revenue', num: true, cell: (r) => pounds(r.gross_revenue), attrs: (r) => ({ 'data-testid': `country-revenue-${r.country}`, 'data-value': r.gross_revenue }) },
      { title: 'Share', num: true, cell: (r) => pct(Number(r.gross_revenue) / total) },
      { title: 'Orders', num: true, cell: (r) => int(r.orders) },
    ], rows);
  }

  function renderProducts(p) {
    const rows = p.products;
    chart('chart-products').setOption({
      ...baseOption(),
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => pounds(String(v)) },
      grid: { left: 190, right: 30, top: 10, bottom: 30 },
      xAxis: moneyAxis(''),
      yAxis: { type: 'category', inverse: true, data: rows.map((r) => `${(r.description || r.stock_code).slice(0, 26)}`) },
      series: [{ type: 'bar', name: 'Revenue', data: rows.map((r) => num(r.revenue)), color: COLORS.pass }],
    }, true);
    table($('products-table'), [
      { title: '#', num: true, cell: (r) => r.rank },
      { title: 'Stock code', cell: (r) => r.stock_code },
      { title: 'Description', wrap: true, cell: (r) => r.description || '–' },
      { title: 'Revenue', num: true, cell: (r) => pounds(r.revenue), attrs: (r) => ({ 'data-testid': `product-revenue-${r.stock_code}`, 'data-value': r.revenue }) },
      { title: 'Units', num: true, cell: (r) => int(r.quantity) },
    ], rows);
  }

  function renderPredictions(p) {
    const versions = [...new Set(p.days.map((d) => d.model_version))];
    const colorOf = (v) => SERIES[(versions.indexOf(v) + 4) % SERIES.length];
    const byModel = p.by_model.map((m) => `${m.model_version}: ${m.days} days, MAE ${pounds(m.mae)}`).join(' · ');
    $('predictions-note').replaceChildren(
      el('span', null, 'Order revenue predicted by the promoted model vs actual, per day. Range MAE per order: '),
      el('strong', { 'data-testid': 'predictions-mae', 'data-value': p.mae }, p.mae === null ? 'no scored orders' : pounds(p.mae)),
      el('span', null, ` over ${int(p.orders)} orders${byModel ? ` (${byModel})` : ''}. Bars: daily MAE, coloured by the model version that scored the day.`),
    );
    chart('chart-predictions').setOption({
      ...baseOption(),
      tooltip: {
        trigger: 'axis',
        formatter: (items) => {
          const d = p.days[items[0].dataIndex];
          return [`<b>${d.date}</b> · model ${escapeHtml(d.model_version)}`, `predicted ${pounds(d.predicted_total)}`, `actual ${pounds(d.actual_total)}`,
            `MAE ${pounds(d.mae)} over ${int(d.orders)} orders`].join('<br>');
        },
      },
      legend: { top: 0, data: ['Predicted total', 'Actual total', 'MAE per order'] },
      grid: { left: 60, right: 60, top: 36, bottom: 56 },
      dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
      xAxis: { type: 'category', data: p.days.map((d) => d.date) },
      yAxis: [moneyAxis('total'), { ...moneyAxis('MAE'), splitLine: { show: false } }],
      series: [
        { name: 'Predicted total', type: 'line', showSymbol: false, data: p.days.map((d) => num(d.predicted_total)), color: COLORS.stream },
        { name: 'Actual total', type: 'line', showSymbol: false, data: p.days.map((d) => num(d.actual_total)), color: COLORS.batch },
        { name: 'MAE per order', type: 'bar', yAxisIndex: 1, barMaxWidth: 14, color: COLORS.warn,
          data: p.days.map((d) => ({ value: num(d.mae), itemStyle: { color: colorOf(d.model_version), opacity: 0.75 } })) },
      ],
    }, true);
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  }

  function renderQuality(qa) {
    state.quality = qa;
    $('quality-note').textContent = `Each cell is one check on one day (${qa.days.length} days, ${qa.checks.length} checks: ${int(qa.totals.pass)} pass, ${int(qa.totals.warn)} warn, ${int(qa.totals.fail)} fail). Click a cell for the day's results.`;
    const c = chart('chart-quality');
    c.setOption({
      ...baseOption(),
      tooltip: {
        formatter: (item) => {
          const [x, y, s] = item.data;
          return `<b>${qa.days[x].date}</b><br>${escapeHtml(qa.checks[y])}: ${SEVERITIES[s]}`;
        },
      },
      grid: { left: 250, right: 20, top: 10, bottom: 70 },
      xAxis: { type: 'category', data: qa.days.map((d) => d.date), splitArea: { show: false } },
      yAxis: { type: 'category', data: qa.checks, axisLabel: { fontSize: 11 } },
      visualMap: {
        type: 'piecewise', dimension: 2, orient: 'horizontal', left: 'center', bottom: 0,
        pieces: SEVERITIES.map((s, i) => ({ value: i, label: s, color: COLORS[s] })),
      },
      dataZoom: qa.days.length > 60 ? [{ type: 'slider', height: 14, bottom: 30, xAxisIndex: 0 }, { type: 'inside', xAxisIndex: 0 }] : [],
      // progressive: 0 draws every cell in one frame (a year is 7,000+ cells, over ECharts' progressive threshold).
      series: [{ type: 'heatmap', name: 'checks', data: qa.cells, progressive: 0, itemStyle: { borderColor: '#fff', borderWidth: qa.days.length > 120 ? 0 : 1 }, emphasis: { itemStyle: { borderColor: '#16202c', borderWidth: 1 } } }],
    }, true);
    c.off('click');
    c.on('click', (params) => {
      if (params.seriesType !== 'heatmap') return;
      const day = qa.days[params.data[0]];
      if (day) void openQualityDay(day.date, qa.checks[params.data[1]]);
    });
    if (state.selectedDay && !qa.days.some((d) => d.date === state.selectedDay)) closeQualityDay();
  }

  async function openQualityDay(date, focusCheck) {
    state.selectedDay = date;
    const panel = $('dq-detail');
    panel.hidden = false;
    panel.setAttribute('data-date', date);
    panel.setAttribute('data-state', 'loading');
    panel.replaceChildren(el('p', { class: 'note' }, `loading ${date}…`));
    try {
      const day = await getJSON(`/api/v1/quality/${date}`);
      panel.replaceChildren(
        el('div', { class: 'detail-head' },
          el('h3', { 'data-testid': 'dq-detail-title' }, `Data quality on ${day.date}: `, sev(day.worst || 'pass'), ` · ${day.results.length} checks`),
          el('span', null, link(day.workflow_url, `run ${day.workflow_id || ''}`, { 'data-testid': 'dq-detail-run' }), ' ',
            el('button', { type: 'button', onclick: closeQualityDay }, 'close'))),
        el('table', { class: 'grid' }),
      );
      const columns = [
        { title: 'Check', cell: (r) => (r.label === focusCheck ? el('strong', null, r.label) : r.label) },
        { title: 'Severity', cell: (r) => sev(r.severity) },
        { title: 'Observed', num: true, cell: (r) => (r.observed === null ? '–' : Number(r.observed).toLocaleString('en-GB', { maximumFractionDigits: 4 })) },
        { title: 'Warn at', num: true, cell: (r) => (r.warn_threshold === null ? '–' : r.warn_threshold) },
        { title: 'Fail at', num: true, cell: (r) => (r.fail_threshold === null ? '–' : r.fail_threshold) },
        { title: 'Flagged lines', num: true, cell: (r) => int(r.flagged_lines) },
        { title: 'Detail', wrap: true, cell: (r) => r.detail },
        { title: 'Examples', wrap: true, cell: (r) => r.examples.slice(0, 3).map((e) => `${e.invoice_no}/${e.stock_code}`).join(', ') || '–' },
      ];
      table(panel.querySelector('table'), columns, day.results.map((r) => ({ ...r, __attrs: { 'data-testid': 'dq-result', 'data-check': r.label, 'data-severity': r.severity } })));
      panel.setAttribute('data-state', 'ready');
    } catch (err) {
      panel.replaceChildren(el('p', { class: 'note error-note' }, String(err.message || err)));
      panel.setAttribute('data-state', 'error');
    }
  }

  function closeQualityDay() {
    state.selectedDay = null;
    const panel = $('dq-detail');
    panel.hidden = true;
    panel.removeAttribute('data-date');
    panel.replaceChildren();
  }

  function renderModels(m) {
    $('models-note').textContent = m.versions.length === 0
      ? 'No model registered yet: retailflow models train.'
      : `${m.versions.length} versions; serving ${m.current || 'none'}. Holdout MAE per order line's invoice total; pins mark promotions and rollbacks.`;
    const maeOf = new Map(m.versions.map((v) => [v.version, v.mae]));
    const actions = [['gate', COLORS.pass], ['manual', COLORS.batch], ['rollback', COLORS.fail]];
    chart('chart-models').setOption({
      ...baseOption(),
      tooltip: {
        trigger: 'item',
        formatter: (item) => (item.seriesIndex === 0
          ? `<b>${escapeHtml(item.data.version)}</b><br>${item.data.status}<br>holdout MAE ${item.data.value[1].toFixed(2)}`
          : `<b>${escapeHtml(item.seriesName)}</b> ${shortTime(item.data.at)}<br>${escapeHtml(item.data.version)}<br>${escapeHtml(item.data.reason || '')}`),
      },
      legend: { top: 0 },
      grid: { left: 60, right: 30, top: 36, bottom: 36 },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', name: 'holdout MAE', scale: true },
      series: [
        { name: 'versions', type: 'line', symbolSize: 9, color: COLORS.batch,
          data: m.versions.map((v) => ({ value: [v.created_at, v.mae], version: v.version, status: v.status })) },
        ...actions.map(([action, color]) => ({
          name: action, type: 'scatter', symbol: 'pin', symbolSize: 22, color,
          data: m.promotions.filter((p) => p.action === action).map((p) => ({ value: [p.at, maeOf.get(p.version) ?? null], at: p.at, version: p.version, reason: p.reason })),
        })),
      ],
    }, true);
    table($('models-table'), [
      { title: 'Version', cell: (v) => link(v.training_runs_url, v.version, { title: 'training runs open when it was registered, in the Temporal Web UI' }) },
      { title: 'Registered', cell: (v) => shortTime(v.created_at) },
      { title: 'Status', cell: (v) => el('span', { class: `badge ${v.status}` }, v.status) },
      { title: 'Holdout MAE', num: true, cell: (v) => v.mae.toFixed(2) },
      { title: 'R²', num: true, cell: (v) => v.r2.toFixed(3) },
      { title: 'Baseline MAE', num: true, cell: (v) => v.baseline_line_mae.toFixed(2) },
      { title: 'Train', cell: (v) => `${v.train_from} – ${v.train_to}` },
    ], m.versions.slice().reverse());
    table($('promotions-table'), [
      { title: '#', num: true, cell: (p) => p.seq },
      { title: 'At', cell: (p) => shortTime(p.at) },
      { title: 'Action', cell: (p) => p.action },
      { title: 'Version', cell: (p) => p.version },
      { title: 'Previous', cell: (p) => p.previous_version || '–' },
      { title: 'Reason', wrap: true, cell: (p) => p.reason || '–' },
    ], m.promotions.slice().reverse());
  }

  function renderStream(s) {
    $('stream-note').textContent = s.accounted === 0
      ? 'Nothing streamed yet (retailflow stream generate).'
      : `All time: every message taken off the subscription, ${shortTime(s.first_at)} – ${shortTime(s.last_at)} UTC.`;
    $('stream-stats').replaceChildren(
      metric('Stored', int(s.stored), { 'data-testid': 'stream-stored', 'data-value': s.stored }),
      metric('Duplicates', `${int(s.duplicates)} (${pct(s.duplicate_rate)})`, { 'data-testid': 'stream-duplicates', 'data-value': s.duplicates }),
      metric('Dead-lettered', `${int(s.dead_lettered)} (${pct(s.dead_letter_rate)})`, { 'data-testid': 'stream-dead-lettered', 'data-value': s.dead_lettered }),
      metric('High-value lines', int(s.high_value), { 'data-testid': 'stream-high-value', 'data-value': s.high_value }),
      metric('Rate', `${s.overall_per_second.toFixed(1)}/s`, { title: `last minute: ${s.recent_per_second.stored.toFixed(1)} stored/s` }),
    );
    chart('chart-stream').setOption({
      ...baseOption(),
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 100, right: 40, top: 10, bottom: 24 },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', inverse: true, data: ['stored', 'duplicate', 'dead-lettered'] },
      series: [{ type: 'bar', name: 'messages', label: { show: true, position: 'right' },
        data: [{ value: s.stored, itemStyle: { color: COLORS.pass } }, { value: s.duplicates, itemStyle: { color: COLORS.warn } }, { value: s.dead_lettered, itemStyle: { color: COLORS.fail } }] }],
    }, true);
    table($('high-value-table'), [
      { title: 'Stored', cell: (l) => shortTime(l.stored_at) },
      { title: 'Invoice', cell: (l) => link(l.day_workflow_url, l.invoice_no, { title: `daily analytics of ${l.invoice_date}` }) },
      { title: 'Product', wrap: true, cell: (l) => l.description || l.stock_code },
      { title: 'Qty', num: true, cell: (l) => int(l.quantity) },
      { title: 'Value', num: true, cell: (l) => pounds(l.line_value) },
      { title: 'Predicted order', num: true, cell: (l) => pounds(l.predicted_revenue) },
      { title: 'Country', cell: (l) => l.country },
    ], s.high_value_lines);
  }

  function renderDays(k, p, qa) {
    const pred = new Map((p ? p.days : []).map((d) => [d.date, d]));
    const dq = new Map((qa ? qa.days : []).map((d) => [d.date, d]));
    const rows = k.days.slice().reverse().map((d) => ({ ...d, pred: pred.get(d.date), dq: dq.get(d.date), __attrs: { 'data-date': d.date } }));
    table($('days-table'), [
      { title: 'Day', cell: (d) => link(d.workflow_url, d.date, { 'data-testid': `day-link-${d.date}`, title: d.workflow_id ? `run ${d.workflow_id}` : 'no run recorded' }) },
      { title: 'Orders', num: true, cell: (d) => int(d.orders), attrs: (d) => ({ 'data-testid': `day-orders-${d.date}`, 'data-value': d.orders }) },
      { title: 'Gross', num: true, cell: (d) => pounds(d.gross_revenue), attrs: (d) => ({ 'data-testid': `day-gross-${d.date}`, 'data-value': d.gross_revenue }) },
      { title: 'Net', num: true, cell: (d) => pounds(d.net_revenue) },
      { title: 'Refunds', num: true, cell: (d) => pounds(d.refunds) },
      { title: 'Cancelled', num: true, cell: (d) => int(d.cancelled_orders) },
      { title: 'Customers', num: true, cell: (d) => int(d.unique_customers) },
      { title: 'AOV', num: true, cell: (d) => pounds(d.avg_order_value) },
      { title: 'Stream orders', num: true, cell: (d) => (d.source ? `${int(d.source.stream_orders)} (${pct(d.source.stream_order_share)})` : '–') },
      { title: 'Predicted', num: true, cell: (d) => (d.pred ? pounds(d.pred.predicted_total) : '–') },
      { title: 'MAE', num: true, cell: (d) => (d.pred ? pounds(d.pred.mae) : '–') },
      { title: 'Model', cell: (d) => (d.pred ? d.pred.model_version : '–'), attrs: (d) => ({ 'data-testid': `day-model-${d.date}` }) },
      { title: 'Data quality', cell: (d) => (d.dq ? link(d.dq.workflow_url, sev(d.dq.worst), { 'data-testid': `day-dq-link-${d.date}`, title: `${d.dq.fails} fail, ${d.dq.warns} warn: run ${d.dq.workflow_id || ''}` }) : '–') },
    ], rows);
  }

  // ---- loading ----

  function setRangeInputs(range) {
    for (const id of ['from', 'to']) {
      $(id).min = range.first || '';
      $(id).max = range.last || '';
    }
    $('from').value = state.from || '';
    $('to').value = state.to || '';
  }

  async function load() {
    // A load asked for while one runs (a new range during a refresh) runs once that one ends.
    if (state.loading) {
      state.pending = true;
      return;
    }
    state.loading = true;
    state.pending = false;
    const status = $('status');
    const started = performance.now();
    try {
      // The whole range needs no dates: every endpoint defaults to the analysed days, so all eight
      // requests go at once. "Last 30 days" needs the last analysed day first.
      let range = null;
      if (state.mode === 'last30') {
        range = await getJSON('/api/v1/range');
        if (range.last) {
          state.to = range.last;
          const from = addDays(range.last, -29);
          state.from = range.first && from < range.first ? range.first : from;
        }
      }
      const qs = state.mode !== 'all' && state.from && state.to ? `?from=${state.from}&to=${state.to}` : '';
      const calls = {
        range: range ? Promise.resolve(range) : getJSON('/api/v1/range'),
        kpis: getJSON(`/api/v1/kpis${qs}`),
        countries: getJSON(`/api/v1/countries${qs}`),
        products: getJSON(`/api/v1/products${qs}${qs ? '&' : '?'}limit=10`),
        predictions: getJSON(`/api/v1/predictions${qs}`),
        quality: getJSON(`/api/v1/quality${qs}`),
        models: getJSON('/api/v1/models'),
        stream: getJSON('/api/v1/stream?limit=15'),
      };
      const names = Object.keys(calls);
      const settled = await Promise.allSettled(Object.values(calls));
      const got = Object.fromEntries(names.map((n, i) => [n, settled[i]]));
      const value = (n) => (got[n].status === 'fulfilled' ? got[n].value : null);
      range = value('range') || { first: null, last: null, time_zone: 'UTC', temporal_ui: null };
      if (range.temporal_ui) $('ui-base').replaceChildren('Runs: ', link(range.temporal_ui, `Temporal Web UI ${range.temporal_ui}`));
      const shown = value('kpis');
      if (state.mode === 'all') {
        state.from = shown ? shown.range.from : range.first;
        state.to = shown ? shown.range.to : range.last;
      }
      setRangeInputs(range);
      const fetched = performance.now();
      state.timings = { fetch: Math.round(fetched - started) };
      const guard = (name, targetId, fn) => {
        if (got[name].status === 'rejected') return panelError(targetId, got[name].reason);
        const t0 = performance.now();
        try {
          fn(got[name].value);
        } catch (err) {
          console.warn(`dashboard: ${name} panel`, err);
          panelError(targetId, err);
        }
        state.timings[targetId] = Math.round(performance.now() - t0);
      };
      guard('kpis', 'tiles', (k) => {
        renderTiles(k, range);
        renderTotals(k);
        renderTrend(k);
      });
      guard('countries', 'countries-table', renderCountries);
      guard('products', 'products-table', renderProducts);
      guard('predictions', 'predictions-note', renderPredictions);
      guard('quality', 'quality-note', renderQuality);
      guard('models', 'models-table', renderModels);
      guard('stream', 'stream-stats', renderStream);
      guard('kpis', 'days-table', (k) => renderDays(k, value('predictions'), value('quality')));
      if (state.selectedDay) void openQualityDay(state.selectedDay);
      const failed = settled.filter((s) => s.status === 'rejected').length;
      const ms = Math.round(performance.now() - started);
      status.className = failed ? 'status error' : 'status';
      status.textContent = `${state.from || '–'} – ${state.to || '–'} · updated ${new Date().toLocaleTimeString('en-GB')} in ${ms} ms${failed ? ` · ${failed} panels failed` : ''}`;
      status.setAttribute('data-load-ms', String(ms));
      status.setAttribute('data-loaded', 'true');
      status.setAttribute('data-loads', String(Number(status.getAttribute('data-loads') || '0') + 1));
    } catch (err) {
      status.className = 'status error';
      status.textContent = String(err.message || err);
      status.setAttribute('data-loaded', 'error');
    } finally {
      state.loading = false;
      if (state.pending) void load();
    }
  }

  function addDays(date, n) {
    const d = new Date(`${date}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }

  function scheduleRefresh() {
    if (state.timer) clearInterval(state.timer);
    state.timer = $('auto-refresh').checked ? setInterval(() => void load(), REFRESH_MS) : null;
  }

  function init() {
    const hash = new URLSearchParams(location.hash.slice(1));
    if (hash.get('from') && hash.get('to')) {
      state.mode = 'custom';
      state.from = hash.get('from');
      state.to = hash.get('to');
    }
    $('range-form').addEventListener('submit', (e) => {
      e.preventDefault();
      state.mode = 'custom';
      state.from = $('from').value;
      state.to = $('to').value;
      if (state.from > state.to) [state.from, state.to] = [state.to, state.from];
      history.replaceState(null, '', `#from=${state.from}&to=${state.to}`);
      void load();
    });
    $('range-all').addEventListener('click', () => {
      state.mode = 'all';
      history.replaceState(null, '', location.pathname);
      void load();
    });
    $('range-30').addEventListener('click', () => {
      state.mode = 'last30';
      history.replaceState(null, '', location.pathname);
      void load();
    });
    $('auto-refresh').addEventListener('change', scheduleRefresh);
    window.addEventListener('resize', () => Object.values(state.charts).forEach((c) => c.resize()));
    scheduleRefresh();
    void load();
  }

  window.retailflowDashboard = { state, load, openQualityDay };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
