// BuildStatus page. Plain JavaScript, no build step, no dependencies.
// Every text shown comes from the server and is treated as hostile: it is only ever set with textContent (through
// el()), never parsed as HTML, and URLs are shown as links only when they are http(s).
'use strict';
(() => {
  const base = document.querySelector('meta[name="buildstatus-base"]').content;
  const main = document.getElementById('main');
  const conn = document.getElementById('conn');
  const enc = encodeURIComponent;
  const LIVE_KINDS = 'builderAdded,builderStateChanged,buildRequested,buildStarted,buildChanged,buildFinished,stepStarted,stepTextChanged,stepFinished,etaUpdated';

  // ---- DOM helpers -------------------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function setAttrs(node, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.setAttribute('class', v);
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function append(node, children) {
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
  function clear(node) { while (node.firstChild) node.firstChild.remove(); }
  function show(...children) { append(main, children); }

  // ---- URLs and formatting -----------------------------------------------------------------------------------
  const url = {
    overview: () => base + '/',
    grid: () => base + '/grid',
    workers: () => base + '/workers',
    hosts: () => base + '/hosts',
    builder: (b) => `${base}/builders/${enc(b)}`,
    build: (b, n) => `${base}/builders/${enc(b)}/builds/${n}`,
    log: (b, n, s, l) => `${base}/builders/${enc(b)}/builds/${n}/steps/${s}/logs/${l}`,
  };
  const apiLog = (b, n, s, l) => `/builders/${enc(b)}/builds/${n}/steps/${s}/logs/${l}`;

  async function api(path) {
    const response = await fetch(base + '/api' + path, { headers: { Accept: 'application/json' } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  }
  function safeHref(text) {
    try {
      const u = new URL(text, location.href);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch { return null; }
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return '';
    seconds = Math.max(0, Math.round(seconds));
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
    if (m) return `${m}m ${String(s).padStart(2, '0')}s`;
    return `${s}s`;
  }
  const seconds = (from, to) => (new Date(to || Date.now()) - new Date(from)) / 1000;
  const clock = (t) => t ? new Date(t).toLocaleString() : '';
  const resultOf = (b) => b.finished ? (b.result || 'unknown') : 'running';
  function badge(b) { return el('span', { class: `badge r-${resultOf(b)}` }, b.finished ? (b.result || 'done') : 'running'); }
  function etaSpan(eta) { return eta ? el('span', { class: 'eta muted', 'data-eta': eta }, etaText(eta)) : null; }
  function etaText(eta) {
    const left = seconds(Date.now(), eta);
    return left > 0 ? `ETA in ${duration(left)}` : 'ETA overdue';
  }
  setInterval(() => { for (const e of document.querySelectorAll('[data-eta]')) e.textContent = etaText(e.getAttribute('data-eta')); }, 1000);

  // ---- Status stream ------------------------------------------------------------------------------------------
  // One EventSource per view. It starts after the snapshot's event id, so nothing between the two is lost; a
  // dropped connection is resumed by the browser with Last-Event-ID; a 'reset' means events were lost and the
  // view reloads its snapshot.
  let stream = null;
  function openStream(query, after, onEvent, onReset) {
    closeStream();
    const params = new URLSearchParams(query);
    if (after) params.set('after', after);
    const source = new EventSource(`${base}/api/stream?${params}`);
    conn.textContent = 'connecting…';
    source.addEventListener('open', () => setConn(true));
    source.onmessage = (e) => onEvent(JSON.parse(e.data));
    source.addEventListener('reset', () => onReset());
    source.onerror = () => setConn(false);
    stream = source;
  }
  function closeStream() { if (stream) { stream.close(); stream = null; } }
  function setConn(live) {
    conn.textContent = live ? 'live' : 'reconnecting…';
    conn.className = 'conn ' + (live ? 'live' : 'down');
  }

  // ---- Router -------------------------------------------------------------------------------------------------
  let view = null;
  const routes = [
    [/^\/?$/, () => overviewView()],
    [/^\/grid$/, () => gridView()],
    [/^\/workers$/, () => workersView()],
    [/^\/hosts$/, () => hostsView()],
    [/^\/builders\/([^/]+)$/, (m) => builderView(dec(m[1]))],
    [/^\/builders\/([^/]+)\/builds\/(\d+)$/, (m) => buildView(dec(m[1]), +m[2])],
    [/^\/builders\/([^/]+)\/builds\/(\d+)\/steps\/(\d+)\/logs\/(\d+)$/, (m) => logView(dec(m[1]), +m[2], +m[3], +m[4])],
  ];
  function dec(s) { try { return decodeURIComponent(s); } catch { return s; } }
  function route() {
    if (view && view.dispose) view.dispose();
    closeStream();
    conn.textContent = '';
    conn.className = 'conn';
    const path = location.pathname.startsWith(base) ? location.pathname.slice(base.length) : location.pathname;
    clear(main);
    for (const a of document.querySelectorAll('[data-nav]')) a.removeAttribute('aria-current');
    for (const [pattern, make] of routes) {
      const m = path.match(pattern);
      if (m) { view = make(m); return; }
    }
    view = null;
    show(el('h1', null, 'Not found'), el('p', null, el('a', { href: url.overview() }, 'Back to the builders')));
  }
  function nav(name) { const a = document.querySelector(`[data-nav="${name}"]`); if (a) a.setAttribute('aria-current', 'page'); }
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target || a.hasAttribute('download')) return;
    const target = new URL(a.href, location.href);
    if (target.origin !== location.origin || !target.pathname.startsWith(base + '/') && target.pathname !== base) return;
    if (target.pathname.includes('/api/')) return;
    e.preventDefault();
    if (target.pathname === location.pathname && target.hash) { location.hash = target.hash; return; }
    history.pushState(null, '', target.href);
    route();
    main.focus({ preventScroll: true });
  });
  window.addEventListener('popstate', route);
  function failed(err) { show(el('p', { class: 'error', role: 'alert' }, `Could not load: ${err.message}`)); }

  // ---- Builders overview --------------------------------------------------------------------------------------
  function overviewView() {
    nav('overview');
    document.title = 'Builders';
    const builders = new Map();
    const rows = new Map();
    const dirty = new Set();
    let tbody = null;
    let frame = 0;

    function row(b) {
      return el('tr', { 'data-builder': b.name },
        el('td', { class: 'name' }, el('a', { href: url.builder(b.name) }, b.name),
          b.description ? el('div', { class: 'muted' }, b.description) : null),
        el('td', { class: `s-${b.state}` }, b.state, b.pendingRequests ? el('div', { class: 'muted' }, `${b.pendingRequests} pending`) : null),
        el('td', null, b.currentBuilds.map((c) => el('span', { class: 'running-build' },
          el('a', { href: url.build(b.name, c.number) }, `#${c.number}`), ' ',
          c.currentStep ? el('span', null, c.currentStep) : null,
          c.stepsTotal ? el('span', { class: 'muted' }, ` (${c.stepsDone}/${c.stepsTotal})`) : null, ' ',
          etaSpan(c.eta)))),
        el('td', null, el('div', { class: 'strip' }, b.recentBuilds.map((r) =>
          el('a', { class: `r-${resultOf(r)}`, href: url.build(b.name, r.number), title: `#${r.number} ${resultOf(r)} ${r.stateText}` }, `${r.number}`)))));
    }
    function flush() {
      frame = 0;
      for (const name of dirty) {
        const b = builders.get(name);
        const fresh = row(b);
        const old = rows.get(name);
        if (old) old.replaceWith(fresh); else tbody.append(fresh);
        rows.set(name, fresh);
      }
      dirty.clear();
    }
    function touch(name) { dirty.add(name); if (!frame) frame = requestAnimationFrame(flush); }
    function upsertCurrent(b, build) {
      const i = b.currentBuilds.findIndex((c) => c.number === build.number);
      if (build.finished) {
        if (i >= 0) b.currentBuilds.splice(i, 1);
        if (!b.recentBuilds.some((r) => r.number === build.number)) b.recentBuilds.unshift(build);
        b.recentBuilds.splice(10);
      } else if (i >= 0) b.currentBuilds[i] = build; else b.currentBuilds.push(build);
    }
    function onEvent(e) {
      if (e.kind === 'builderAdded' && e.builderInfo) { builders.set(e.builder, e.builderInfo); touch(e.builder); return; }
      const b = builders.get(e.builder);
      if (!b) return;
      if (e.kind === 'builderStateChanged') b.state = e.state;
      else if (e.kind === 'buildRequested') b.pendingRequests++;
      else if (e.build) {
        if (e.kind === 'buildStarted' && b.pendingRequests > 0) b.pendingRequests--;
        upsertCurrent(b, e.build);
      }
      touch(e.builder);
    }
    async function load() {
      try {
        const status = await api('/status');
        builders.clear(); rows.clear();
        clear(main);
        tbody = el('tbody');
        show(el('h1', null, 'Builders'),
          el('table', { class: 'builders' }, el('thead', null, el('tr', null, el('th', null, 'Builder'), el('th', null, 'State'), el('th', null, 'Running'), el('th', null, 'Recent results'))), tbody));
        const fragment = document.createDocumentFragment();
        for (const b of status.builders) { builders.set(b.name, b); const r = row(b); rows.set(b.name, r); fragment.append(r); }
        tbody.append(fragment);
        if (!stream) openStream({ kinds: LIVE_KINDS }, status.lastEventId, onEvent, load);
        main.setAttribute('data-ready', '1');
      } catch (err) { failed(err); }
    }
    load();
    return { dispose() { if (frame) cancelAnimationFrame(frame); } };
  }

  // ---- Grid: recent builds x builders -------------------------------------------------------------------------
  function gridView() {
    nav('grid');
    document.title = 'Grid';
    const PER_ROW = 25;
    const rows = new Map();
    let tbody = null;

    function cell(b) {
      return el('a', { class: `cell r-${resultOf(b)}`, href: url.build(b.builder, b.number), 'data-build': `${b.builder}#${b.number}`,
        title: `${b.builder} #${b.number} ${resultOf(b)}${b.currentStep ? ' — ' + b.currentStep : ''} ${b.stateText}` }, `${b.number}`);
    }
    function rowFor(name) {
      let r = rows.get(name);
      if (r) return r;
      const cells = el('td', { class: 'cells' });
      const tr = el('tr', { 'data-builder': name }, el('th', { class: 'name', scope: 'row' }, el('a', { href: url.builder(name) }, name)), cells);
      r = { tr, cells };
      rows.set(name, r);
      // Rows are kept in name order.
      const after = [...rows.keys()].sort().find((n) => n > name && rows.get(n).tr.isConnected);
      if (after) tbody.insertBefore(tr, rows.get(after).tr); else tbody.append(tr);
      return r;
    }
    function onEvent(e) {
      if (!e.build) return;
      const r = rowFor(e.builder);
      const old = r.cells.querySelector(`[data-build="${CSS.escape(e.builder + '#' + e.build.number)}"]`);
      const fresh = cell(e.build);
      if (old) old.replaceWith(fresh);
      else {
        r.cells.prepend(fresh);
        while (r.cells.childElementCount > PER_ROW) r.cells.lastElementChild.remove();
      }
    }
    async function load() {
      try {
        const page = await api('/builds?limit=500');
        clear(main); rows.clear();
        tbody = el('tbody');
        show(el('h1', null, 'Grid'), el('p', { class: 'muted' }, 'Recent builds of every builder, newest first, updated live.'),
          el('table', { class: 'grid' }, el('thead', null, el('tr', null, el('th', null, 'Builder'), el('th', null, 'Builds (newest first)'))), tbody));
        for (const b of page.builds) {
          const r = rowFor(b.builder);
          if (r.cells.childElementCount < PER_ROW) r.cells.append(cell(b));
        }
        if (!stream) openStream({ kinds: 'buildStarted,buildChanged,buildFinished,stepStarted,stepFinished' }, page.lastEventId, onEvent, load);
        main.setAttribute('data-ready', '1');
      } catch (err) { failed(err); }
    }
    load();
    return {};
  }

  // ---- Builder page with the duration chart -------------------------------------------------------------------
  function builderView(name) {
    document.title = name;
    let builds = [];
    let next = null;
    let resultFilter = '';
    let info = null;
    let chartBox = null, tbody = null, more = null;

    function chart() {
      // Drawn at the box's own pixel size, so bars and labels are not stretched.
      const W = Math.max(300, chartBox.clientWidth || 800), H = 160, PAD = 24;
      const done = builds.filter((b) => b.finished && b.finishedAt).slice(0, 100).reverse();
      const max = Math.max(1, ...done.map((b) => seconds(b.startedAt, b.finishedAt)), info && info.expectedDurationSeconds || 0);
      const bw = (W - PAD) / Math.max(done.length, 1);
      const g = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Durations of the last ${done.length} finished builds` });
      g.append(svg('text', { x: 2, y: 12 }, duration(max)), svg('text', { x: 2, y: H - 4 }, '0'));
      done.forEach((b, i) => {
        const d = seconds(b.startedAt, b.finishedAt);
        const h = Math.max(1, (H - PAD) * d / max);
        const link = svg('a', { href: url.build(name, b.number) },
          svg('rect', { class: `bar-${b.result || 'unknown'}`, x: PAD + i * bw + 1, y: H - 4 - h, width: Math.max(1, bw - 2), height: h },
            svg('title', null, `#${b.number} ${b.result || ''} ${duration(d)}`)));
        g.append(link);
      });
      if (info && info.expectedDurationSeconds) {
        const y = H - 4 - (H - PAD) * info.expectedDurationSeconds / max;
        g.append(svg('line', { class: 'eta', x1: PAD, x2: W, y1: y, y2: y }), svg('text', { x: W - 90, y: y - 3 }, `expected ${duration(info.expectedDurationSeconds)}`));
      }
      return g;
    }
    function buildRow(b) {
      return el('tr', { 'data-build': b.number },
        el('td', { class: 'num' }, el('a', { href: url.build(name, b.number) }, `#${b.number}`)),
        el('td', null, badge(b)),
        el('td', { class: 'num' }, clock(b.startedAt)),
        el('td', { class: 'num' }, b.finished ? duration(seconds(b.startedAt, b.finishedAt)) : etaSpan(b.eta)),
        el('td', null, b.stateText),
        el('td', { class: 'name' }, [b.branch, b.revision].filter(Boolean).join(' @ ')));
    }
    function renderList() {
      clear(tbody);
      for (const b of builds) tbody.append(buildRow(b));
      chartBox.replaceChildren(chart());
      more.hidden = next === null || next === undefined;
    }
    async function fetchPage(before) {
      const q = new URLSearchParams({ limit: 100 });
      if (before !== null && before !== undefined) q.set('before', before);
      if (resultFilter) q.set('result', resultFilter);
      const page = await api(`/builders/${enc(name)}/builds?${q}`);
      next = page.nextBefore;
      return page.builds;
    }
    function onEvent(e) {
      if (!e.build) return;
      const i = builds.findIndex((b) => b.number === e.build.number);
      if (i >= 0) builds[i] = e.build; else if (!resultFilter) builds.unshift(e.build);
      renderList();
    }
    async function load() {
      try {
        info = await api(`/builders/${enc(name)}`);
        builds = await fetchPage(null);
        clear(main);
        const select = el('select', { 'aria-label': 'Show results', onchange: async () => { resultFilter = select.value; builds = await fetchPage(null); renderList(); } },
          ['', 'success', 'warnings', 'failure', 'exception', 'cancelled', 'retry', 'skipped'].map((r) => el('option', { value: r }, r || 'all results')));
        chartBox = el('div');
        tbody = el('tbody');
        more = el('button', { type: 'button', onclick: async () => { builds = builds.concat(await fetchPage(next)); renderList(); } }, 'Older builds');
        show(
          el('p', null, el('a', { href: url.overview() }, 'Builders'), ' / '),
          el('h1', null, name),
          info.description ? el('p', null, info.description) : null,
          el('dl', { class: 'facts' },
            el('dt', null, 'State'), el('dd', { class: `s-${info.state}` }, info.state),
            el('dt', null, 'Tags'), el('dd', null, info.tags.join(', ') || '—'),
            el('dt', null, 'Workers'), el('dd', null, info.workers.join(', ') || '—'),
            el('dt', null, 'Expected duration'), el('dd', null, info.expectedDurationSeconds ? duration(info.expectedDurationSeconds) : '—')),
          el('h2', null, 'Durations of the last 100 builds'), chartBox,
          el('h2', null, 'Builds'), el('div', { class: 'toolbar' }, select),
          el('table', null, el('thead', null, el('tr', null, ['#', 'Result', 'Started', 'Duration', 'State', 'Source'].map((h) => el('th', null, h)))), tbody),
          more);
        renderList();
        if (!stream) openStream({ builders: name, kinds: 'buildStarted,buildChanged,buildFinished,stepStarted,stepFinished,etaUpdated' }, null, onEvent, load);
        main.setAttribute('data-ready', '1');
      } catch (err) { failed(err); }
    }
    load();
    return {};
  }

  // ---- Build page ---------------------------------------------------------------------------------------------
  function buildView(builder, number) {
    document.title = `${builder} #${number}`;
    let detail = null;
    let header = null, stepsBody = null;

    function stepRow(s) {
      const result = s.finished ? (s.result || 'unknown') : s.started ? 'running' : null;
      return el('tr', { 'data-step': s.number },
        el('td', { class: 'num' }, `${s.number}`),
        el('td', { class: 'name' }, s.name),
        el('td', null, result ? el('span', { class: `badge r-${result}` }, s.finished ? result : 'running') : el('span', { class: 'muted' }, 'pending')),
        el('td', null, s.stateText),
        el('td', { class: 'num' }, s.startedAt ? duration(seconds(s.startedAt, s.finishedAt)) : ''),
        el('td', null, s.logs.map((l) => el('span', null, el('a', { href: url.log(builder, number, s.number, l.number) }, l.name), el('span', { class: 'muted' }, ` (${l.lineCount} lines) `)))),
        el('td', null, s.urls.map((u) => { const href = safeHref(u.url); return el('div', null, href ? el('a', { href, rel: 'noopener noreferrer', target: '_blank' }, u.name) : `${u.name}: ${u.url}`); })),
        el('td', { class: 'muted' }, Object.entries(s.statistics || {}).map(([k, v]) => el('div', null, `${k}=${v}`))));
    }
    function renderHeader() {
      const s = detail.summary;
      header.replaceChildren(
        el('h1', null, `${builder} #${number} `, badge(s)),
        el('dl', { class: 'facts' },
          el('dt', null, 'State'), el('dd', null, s.stateText || '—'),
          el('dt', null, 'Reason'), el('dd', null, s.reason || '—'),
          el('dt', null, 'Started'), el('dd', null, clock(s.startedAt)),
          el('dt', null, s.finished ? 'Finished' : 'Running for'), el('dd', null, s.finished ? `${clock(s.finishedAt)} (${duration(seconds(s.startedAt, s.finishedAt))})` : duration(seconds(s.startedAt)), ' ', etaSpan(s.eta)),
          el('dt', null, 'Worker'), el('dd', null, s.workerName || '—'),
          el('dt', null, 'Host'), el('dd', null, detail.hostName)));
    }
    function onEvent(e) {
      if (e.build && e.number === number) { detail.summary = e.build; renderHeader(); }
      if (e.step) {
        const i = detail.steps.findIndex((s) => s.number === e.step.number);
        if (i >= 0) detail.steps[i] = e.step; else detail.steps.push(e.step);
        const fresh = stepRow(e.step);
        const old = stepsBody.querySelector(`[data-step="${e.step.number}"]`);
        if (old) old.replaceWith(fresh); else stepsBody.append(fresh);
      }
      if (e.log && (e.kind === 'logStarted' || e.kind === 'logFinished')) {
        const s = detail.steps.find((x) => x.number === e.log.stepNumber);
        if (s) {
          const i = s.logs.findIndex((l) => l.number === e.log.number);
          if (i >= 0) s.logs[i] = e.log; else s.logs.push(e.log);
          stepsBody.querySelector(`[data-step="${s.number}"]`)?.replaceWith(stepRow(s));
        }
      }
    }
    async function load() {
      try {
        detail = await api(`/builders/${enc(builder)}/builds/${number}`);
        clear(main);
        header = el('div');
        stepsBody = el('tbody');
        for (const s of detail.steps) stepsBody.append(stepRow(s));
        show(
          el('p', null, el('a', { href: url.overview() }, 'Builders'), ' / ', el('a', { href: url.builder(builder) }, builder), ' /'),
          header,
          el('h2', null, 'Steps'),
          el('table', { class: 'steps' }, el('thead', null, el('tr', null, ['#', 'Step', 'Result', 'State', 'Duration', 'Logs', 'Links', 'Statistics'].map((h) => el('th', null, h)))), stepsBody),
          el('h2', null, 'Source stamps'),
          detail.sourceStamps.length ? el('table', null, el('thead', null, el('tr', null, ['Repository', 'Branch', 'Revision', 'Project', 'Codebase'].map((h) => el('th', null, h)))),
            el('tbody', null, detail.sourceStamps.map((s) => el('tr', null, [s.repository, s.branch, s.revision, s.project, s.codebase].map((v) => el('td', { class: 'name' }, v || '')))))) : el('p', { class: 'muted' }, 'None.'),
          el('h2', null, 'Changes'),
          detail.changes.length ? el('table', null, el('tbody', null, detail.changes.map((c) => el('tr', null, el('td', { class: 'name' }, c.revision), el('td', null, c.author), el('td', null, c.comments || ''))))) : el('p', { class: 'muted' }, 'None.'),
          detail.responsibleUsers.length ? el('p', null, 'Responsible: ', detail.responsibleUsers.join(', ')) : null,
          el('h2', null, 'Properties'),
          el('table', { class: 'properties' }, el('thead', null, el('tr', null, ['Name', 'Value', 'Source'].map((h) => el('th', null, h)))),
            el('tbody', null, detail.properties.map((p) => el('tr', null, el('td', { class: 'name' }, p.name), el('td', { class: 'name' }, p.value), el('td', { class: 'muted' }, p.source))))));
        renderHeader();
        if (!stream && !detail.summary.finished) {
          const query = { builders: builder, build: number, kinds: 'buildChanged,buildFinished,stepStarted,stepTextChanged,stepFinished,logStarted,logFinished,etaUpdated' };
          if (detail.otherHost) query.hosts = 'all';
          openStream(query, detail.lastEventId, onEvent, load);
        }
        main.setAttribute('data-ready', '1');
      } catch (err) { failed(err); }
    }
    load();
    return {};
  }

  // ---- Log viewer ---------------------------------------------------------------------------------------------
  // Virtualized: only the rows in view are in the DOM, fetched by range in pages of PAGE lines and kept in a small
  // cache. Very long logs are scaled so the scrollable height stays under the browser's limit. Follow mode keeps
  // the last line in view while the user is at the bottom; scrolling up pauses it.
  function logView(builder, number, stepNumber, logNumber) {
    const LH = 18, PAGE = 200, MAX_PAGES = 200, OVERSCAN = 30, MAX_HEIGHT = 15000000;
    const path = apiLog(builder, number, stepNumber, logNumber);
    document.title = `${builder} #${number} log`;
    const pages = new Map();
    let count = 0, finished = true, following = false, follow = null, frame = 0;
    let matches = [], matchIndex = -1, highlight = -1;
    let viewport, spacer, rowsBox, info, followButton, searchInput, searchInfo;

    const scaled = () => count * LH > MAX_HEIGHT;
    const height = () => Math.min(count * LH, MAX_HEIGHT);
    function visibleRows() { return Math.ceil(viewport.clientHeight / LH); }
    function firstVisible() {
      if (!scaled()) return Math.floor(viewport.scrollTop / LH);
      const range = height() - viewport.clientHeight;
      return Math.round((viewport.scrollTop / Math.max(range, 1)) * Math.max(count - visibleRows(), 0));
    }
    function scrollToLine(n, where) {
      const top = where === 'center' ? n - Math.floor(visibleRows() / 3) : n;
      const clamped = Math.max(0, Math.min(top, Math.max(count - visibleRows(), 0)));
      spacer.style.height = `${height()}px`; // grow first, or the browser clamps the new position to the old height
      viewport.scrollTop = scaled()
        ? clamped / Math.max(count - visibleRows(), 1) * (height() - viewport.clientHeight)
        : clamped * LH;
      schedule();
    }
    function schedule() { if (!frame) frame = requestAnimationFrame(render); }

    function ansi(text) {
      // SGR colours and bold/underline; any other escape sequence is dropped. Text only, never HTML.
      const out = [];
      const re = /\x1b\[([0-9;?]*)([A-Za-z])/g;
      let last = 0, fg = null, bg = null, bold = false, under = false, m;
      const push = (s) => {
        if (!s) return;
        const cls = [fg && `fg-${fg}`, bg && `bg-${bg}`, bold && 'b', under && 'u'].filter(Boolean).join(' ');
        out.push(cls ? el('span', { class: cls }, s) : s);
      };
      while ((m = re.exec(text))) {
        push(text.slice(last, m.index));
        last = re.lastIndex;
        if (m[2] !== 'm') continue;
        for (const p of (m[1] || '0').split(';').map(Number)) {
          if (p === 0) { fg = bg = null; bold = under = false; } else if (p === 1) bold = true; else if (p === 4) under = true;
          else if (p === 22) bold = false; else if (p === 24) under = false;
          else if ((p >= 30 && p <= 37) || (p >= 90 && p <= 97)) fg = p; else if (p === 39) fg = null;
          else if (p >= 40 && p <= 47) bg = p; else if (p === 49) bg = null;
        }
      }
      push(text.slice(last));
      return out;
    }
    function lineAt(n) { const p = pages.get(Math.floor(n / PAGE)); return p ? p.lines[n - p.first] : undefined; }
    function ensurePage(index) {
      let p = pages.get(index);
      if (p) { pages.delete(index); pages.set(index, p); } else { p = { first: index * PAGE, lines: [], requested: false }; pages.set(index, p); }
      while (pages.size > MAX_PAGES) pages.delete(pages.keys().next().value);
      if (p.requested) return;
      p.requested = true;
      api(`${path}/lines?from=${index * PAGE}&count=${PAGE}`).then((r) => {
        // Lines the follow stream delivered meanwhile are the same lines: keep whichever came first.
        for (const l of r.lines) if (!p.lines[l.n - p.first]) p.lines[l.n - p.first] = l;
        if (r.log.lineCount > count && !follow) setCount(r.log.lineCount);
        schedule();
      }).catch(() => { p.requested = false; });
    }
    function render() {
      frame = 0;
      if (!viewport) return;
      spacer.style.height = `${height()}px`;
      const first = Math.max(0, firstVisible() - OVERSCAN);
      const last = Math.min(count, firstVisible() + visibleRows() + OVERSCAN);
      for (let i = Math.floor(first / PAGE); i <= Math.floor(Math.max(last - 1, 0) / PAGE) && i * PAGE < count; i++) ensurePage(i);
      const top = scaled() ? viewport.scrollTop - (firstVisible() - first) * LH : first * LH;
      rowsBox.style.transform = `translateY(${Math.max(0, top)}px)`;
      const rows = [];
      for (let n = first; n < last; n++) {
        const line = lineAt(n);
        const cls = ['line', line ? `ch-${line.c}` : '', n === highlight ? 'hl' : '', matches.some((m) => m.n === n) ? 'match' : ''].filter(Boolean).join(' ');
        rows.push(el('div', { class: cls, 'data-line': n + 1 },
          el('a', { class: 'ln', href: `#L${n + 1}`, tabindex: -1 }, `${n + 1}`),
          el('span', { class: 'tx' }, line ? ansi(line.t) : '')));
      }
      rowsBox.replaceChildren(...rows);
      info.textContent = `${count.toLocaleString()} lines${finished ? '' : ' (running)'}`;
    }
    function setCount(n) { count = n; schedule(); }
    function setFollowing(on) {
      following = on;
      followButton.setAttribute('aria-pressed', on ? 'true' : 'false');
      followButton.textContent = on ? 'Following' : 'Follow';
      if (on) scrollToLine(count, 'top');
    }
    function openFollow() {
      follow = new EventSource(`${base}/api${path}/follow?from=${count}`);
      follow.addEventListener('open', () => setConn(true));
      follow.onerror = () => setConn(false);
      follow.addEventListener('lines', (e) => {
        const batch = JSON.parse(e.data);
        for (const l of batch.lines) {
          const index = Math.floor(l.n / PAGE);
          let p = pages.get(index);
          if (!p) { p = { first: index * PAGE, lines: [], requested: false }; pages.set(index, p); }
          p.lines[l.n - p.first] = l;
          if (l.n + 1 > count) count = l.n + 1;
        }
        if (following) scrollToLine(count, 'top'); else schedule();
      });
      follow.addEventListener('end', (e) => {
        const end = JSON.parse(e.data);
        if (end.lineCount > count) count = end.lineCount;
        finished = true;
        follow.close(); follow = null;
        if (following) scrollToLine(count, 'top'); else schedule();
        main.setAttribute('data-finished', '1');
      });
    }
    function anchor() {
      const m = location.hash.match(/^#L(\d+)$/);
      if (!m) return false;
      highlight = Math.max(0, +m[1] - 1);
      if (following) setFollowing(false);
      scrollToLine(highlight, 'center');
      return true;
    }
    async function search(from) {
      const q = searchInput.value;
      if (!q) return;
      searchInfo.textContent = 'searching…';
      try {
        const r = await api(`${path}/search?q=${enc(q)}&from=${from || 0}&limit=500`);
        matches = from ? matches.concat(r.matches) : r.matches;
        searchInfo.replaceChildren(`${matches.length} match${matches.length === 1 ? '' : 'es'}`,
          r.done ? '' : el('button', { type: 'button', onclick: () => search(r.scannedTo) }, 'search further'));
        if (!from && matches.length) { matchIndex = -1; nextMatch(1); } else schedule();
      } catch (err) { searchInfo.textContent = err.message; }
    }
    function nextMatch(step) {
      if (!matches.length) return;
      matchIndex = (matchIndex + step + matches.length) % matches.length;
      highlight = matches[matchIndex].n;
      if (following) setFollowing(false);
      history.replaceState(null, '', `#L${highlight + 1}`);
      scrollToLine(highlight, 'center');
    }
    function onKey(e) {
      if (e.target === searchInput || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'f') { setFollowing(!following); e.preventDefault(); }
      else if (e.key === '/') { searchInput.focus(); e.preventDefault(); }
      else if (e.key === 'n') { nextMatch(1); e.preventDefault(); }
      else if (e.key === 'N') { nextMatch(-1); e.preventDefault(); }
      else if (e.key === 'g') { setFollowing(false); scrollToLine(0, 'top'); e.preventDefault(); }
      else if (e.key === 'G') { scrollToLine(count, 'top'); e.preventDefault(); }
    }
    async function load() {
      try {
        const meta = await api(path);
        count = meta.lineCount;
        finished = meta.finished;
        clear(main);
        info = el('span', { class: 'muted', 'aria-live': 'polite' });
        followButton = el('button', { type: 'button', 'aria-pressed': 'false', title: 'Keep the last line in view (f)', onclick: () => setFollowing(!following) }, 'Follow');
        searchInput = el('input', { type: 'search', placeholder: 'Search the log (/)', 'aria-label': 'Search the log' });
        searchInfo = el('span', { class: 'muted', 'aria-live': 'polite' });
        const form = el('form', { role: 'search', onsubmit: (e) => { e.preventDefault(); search(0); } }, searchInput, ' ', el('button', { type: 'submit' }, 'Search'),
          ' ', el('button', { type: 'button', title: 'Previous match (N)', onclick: () => nextMatch(-1) }, '↑'), el('button', { type: 'button', title: 'Next match (n)', onclick: () => nextMatch(1) }, '↓'));
        spacer = el('div', { class: 'log-spacer' });
        rowsBox = el('div', { class: 'log-rows', role: 'log', 'aria-label': `Log ${meta.name}` });
        viewport = el('div', { class: 'log-view', tabindex: 0, 'aria-label': 'Log lines; f follow, / search, n next match, g top, G bottom' }, spacer, rowsBox);
        show(
          el('p', null, el('a', { href: url.overview() }, 'Builders'), ' / ', el('a', { href: url.builder(builder) }, builder), ' / ',
            el('a', { href: url.build(builder, number) }, `#${number}`), ` / step ${stepNumber} / `),
          el('h1', null, meta.name),
          el('div', { class: 'toolbar' }, info, followButton, form, searchInfo,
            el('a', { href: `${base}/api${path}/raw`, download: `${meta.name}.log` }, 'Raw')),
          viewport);
        let last = -1;
        viewport.addEventListener('scroll', () => {
          const atBottom = viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - LH * 2;
          if (following && !atBottom && viewport.scrollTop < last) setFollowing(false);
          last = viewport.scrollTop;
          schedule();
        });
        viewport.addEventListener('keydown', onKey);
        document.addEventListener('keydown', onKeyDocument);
        window.addEventListener('hashchange', anchor);
        window.addEventListener('resize', schedule);
        render();
        if (!anchor() && !finished) setFollowing(true);
        if (!finished) openFollow(); else main.setAttribute('data-finished', '1');
        main.setAttribute('data-ready', '1');
      } catch (err) { failed(err); }
    }
    function onKeyDocument(e) { if (e.target === document.body) onKey(e); }
    load();
    return {
      dispose() {
        if (follow) follow.close();
        if (frame) cancelAnimationFrame(frame);
        window.removeEventListener('hashchange', anchor);
        window.removeEventListener('resize', schedule);
        document.removeEventListener('keydown', onKeyDocument);
        viewport = null;
      },
    };
  }

  // ---- Workers ------------------------------------------------------------------------------------------------
  function workersView() {
    nav('workers');
    document.title = 'Workers';
    let tbody = null;
    function row(w) {
      return el('tr', { 'data-worker': w.name },
        el('td', { class: 'name' }, w.name),
        el('td', { class: w.connected ? 's-building' : 's-offline' }, w.connected ? 'connected' : 'disconnected'),
        el('td', { class: 'name' }, w.host || ''),
        el('td', { class: 'num' }, clock(w.lastSeen)),
        el('td', null, w.runningBuilds.map((b) => el('div', null, el('a', { href: url.build(b.builder, b.number) }, `${b.builder} #${b.number}`)))),
        el('td', { class: 'muted' }, Object.entries(w.info || {}).map(([k, v]) => el('div', null, `${k}: ${v}`))));
    }
    function onEvent(e) {
      if (!e.worker) return;
      const fresh = row(e.worker);
      const old = tbody.querySelector(`[data-worker="${CSS.escape(e.worker.name)}"]`);
      if (old) old.replaceWith(fresh); else tbody.append(fresh);
    }
    async function load() {
      try {
        const workers = await api('/workers');
        clear(main);
        tbody = el('tbody', null, workers.map(row));
        show(el('h1', null, 'Workers'),
          el('table', null, el('thead', null, el('tr', null, ['Worker', 'State', 'Host', 'Last seen', 'Running builds', 'Info'].map((h) => el('th', null, h)))), tbody));
        if (!stream) openStream({ kinds: 'workerConnected,workerDisconnected' }, null, onEvent, load);
        main.setAttribute('data-ready', '1');
      } catch (err) { failed(err); }
    }
    load();
    return {};
  }

  // ---- Hosts: every live instance on this history with its running builds -------------------------------------
  // The snapshot (api/hosts) and then the stream with other hosts' events (hosts=all): each event moves or updates
  // one build's row; a finished build leaves. A host that starts later gets its section from its first event.
  function hostsView() {
    nav('hosts');
    document.title = 'Hosts';
    const sections = new Map();   // section key -> { box, tbody, empty, builds: Map(build key -> row) }
    const owner = new Map();      // build key -> section key
    let ownKey = null, list = null;
    const hostKey = (name, id) => id !== null && id !== undefined ? `i${id}` : `h${name}`;
    const buildKey = (b) => `${b.builder}#${b.number}`;

    function buildRow(b) {
      return el('tr', { 'data-build': buildKey(b) },
        el('td', { class: 'name' }, el('a', { href: url.builder(b.builder) }, b.builder)),
        el('td', { class: 'num' }, el('a', { href: url.build(b.builder, b.number) }, `#${b.number}`)),
        el('td', { class: 'name' }, b.currentStep || el('span', { class: 'muted' }, '—'),
          b.stepsTotal ? el('span', { class: 'muted' }, ` (${b.stepsDone}/${b.stepsTotal})`) : null),
        el('td', { class: 'num' }, etaSpan(b.eta) || el('span', { class: 'muted' }, '—')),
        el('td', null, b.stateText));
    }
    function facts(h) {
      if (!h.heartbeatAt) return h.instanceId ? `instance ${h.instanceId}` : null;
      return `instance ${h.instanceId} · started ${clock(h.startedAt)} · heartbeat ${clock(h.heartbeatAt)} · lease until ${clock(h.expiresAt)}`;
    }
    function addSection(key, h, note) {
      const tbody = el('tbody');
      const empty = el('p', { class: 'muted' }, 'No running builds.');
      const id = `host-${sections.size}`;
      const box = el('section', { class: 'host', 'data-host': key, 'aria-labelledby': id },
        el('h2', { id }, el('span', { class: 'name' }, h.hostName), h.isThisHost ? el('span', { class: 'badge r-skipped' }, 'this host') : null),
        el('p', { class: 'muted' }, note || facts(h)),
        el('table', { class: 'hosts' }, el('thead', null, el('tr', null, ['Builder', '#', 'Current step', 'ETA', 'State'].map((t) => el('th', null, t)))), tbody),
        empty);
      const s = { box, tbody, empty, builds: new Map() };
      sections.set(key, s);
      list.append(box);
      return s;
    }
    function refreshEmpty(s) { s.empty.hidden = s.builds.size > 0; }
    function place(key, b) {
      const k = buildKey(b);
      const from = owner.get(k);
      if (from !== undefined && from !== key) {
        const old = sections.get(from);
        const row = old && old.builds.get(k);
        if (row) { row.remove(); old.builds.delete(k); refreshEmpty(old); }
        owner.delete(k);
      }
      const s = sections.get(key);
      const row = s.builds.get(k);
      if (b.finished) {
        if (row) row.remove();
        s.builds.delete(k);
        owner.delete(k);
      } else {
        const fresh = buildRow(b);
        if (row) row.replaceWith(fresh); else s.tbody.append(fresh);
        s.builds.set(k, fresh);
        owner.set(k, key);
      }
      refreshEmpty(s);
    }
    function onEvent(e) {
      if (!e.build) return;
      let key = ownKey;
      if (e.host !== undefined && e.host !== null) {
        key = hostKey(e.host, e.instanceId);
        if (!sections.has(key)) addSection(key, { hostName: e.host, instanceId: e.instanceId, isThisHost: false });
      }
      place(key, e.build);
    }
    async function load() {
      try {
        const snapshot = await api('/hosts');
        clear(main); sections.clear(); owner.clear();
        list = el('div', { class: 'host-list' });
        show(el('h1', null, 'Hosts'),
          el('p', { class: 'muted' }, 'Every live host on this history with its running builds, updated live.'),
          snapshot.truncated ? el('p', { class: 'error' }, 'Not everything is shown: there are more hosts or running builds than one answer holds.') : null,
          list);
        ownKey = hostKey(snapshot.hostName, snapshot.instanceId);
        for (const h of snapshot.hosts) {
          const key = hostKey(h.hostName, h.instanceId);
          const s = sections.get(key) || addSection(key, h);
          for (const b of h.runningBuilds) place(key, b);
          refreshEmpty(s);
        }
        for (const b of snapshot.otherBuilds) {
          const key = hostKey(b.hostName, null);
          if (!sections.has(key)) addSection(key, { hostName: b.hostName }, 'no single live instance of this name');
          place(key, b);
        }
        if (!stream) openStream({ hosts: 'all', kinds: 'buildStarted,buildChanged,buildFinished,stepStarted,stepFinished,etaUpdated' }, snapshot.lastEventId, onEvent, load);
        main.setAttribute('data-ready', '1');
      } catch (err) { failed(err); }
    }
    load();
    return {};
  }

  route();
})();
