/*! storedesk chat widget. Plain JS, no framework, no build step.
 * Embed: <script src="https://HOST/widget.js" data-workspace="SLUG" async></script>
 * Protocol: docs/chat-protocol.md. Everything renders inside an open Shadow DOM
 * on <div id="storedesk-widget">; test hooks are data-sd attributes.
 */
(function () {
  'use strict';
  if (window.__storedeskWidget) return;
  window.__storedeskWidget = 1;

  // ---- where we come from -------------------------------------------------
  var script = document.currentScript;
  if (!script || !/\/widget\.js(\?|#|$)/.test(script.src || '')) {
    var all = document.getElementsByTagName('script');
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(all[i].src || '') && all[i].getAttribute('data-workspace')) { script = all[i]; break; }
    }
  }
  if (!script) return;
  var slug = script.getAttribute('data-workspace');
  if (!slug) return;
  var origin = new URL(script.src, location.href).origin;
  var wsUrl = origin.replace(/^http/, 'ws') + '/ws?workspace=' + encodeURIComponent(slug);
  var LANGS = ['en', 'ru', 'uk', 'fa'];

  function pickLang() {
    var cands = [script.getAttribute('data-lang'), document.documentElement.getAttribute('lang'), navigator.language];
    for (var i = 0; i < cands.length; i++) {
      var c = (cands[i] || '').trim();
      if (!c) continue;
      c = c.toLowerCase().split(/[-_]/)[0];
      return LANGS.indexOf(c) >= 0 ? c : 'en';
    }
    return 'en';
  }
  var lang = pickLang();

  var EN = {
    title: 'Chat with us', open: 'Open chat', close: 'Close chat', placeholder: 'Write a message…',
    send: 'Send', attach: 'Attach a photo or PDF', online: 'Online', offline: 'Offline', hours: 'Hours',
    typing: 'typing…', seen: 'Seen', name: 'Your name', email: 'Your e-mail',
    'email-required': 'Please enter your e-mail so we can answer you.',
    'offline-intro': 'We are away right now. Leave your message and e-mail, and we will answer by mail.',
    'sent-offline': 'Thank you! We will answer you by e-mail.',
    'error-send': 'The message could not be sent. Please try again.', reconnecting: 'Connection lost. Reconnecting…', powered: 'Powered by storedesk', suggest: 'These articles may answer it:',
    'callback-open': 'Call me back', 'callback-phone': 'Phone number', 'callback-when': 'When is it best to call?', 'callback-send': 'Request a call',
    'callback-done': 'Thank you! We will call you. Your request number:', 'callback-back': 'Back to chat',
    'request-open': 'Leave a request', 'request-subject': 'Subject', 'request-order': 'Order number (optional)', 'request-send': 'Send request',
    'request-done': 'Thank you! Your request number is',
    'csat-question': 'How would you rate our help?', 'csat-1': 'Very poor', 'csat-2': 'Poor', 'csat-3': 'Okay', 'csat-4': 'Good', 'csat-5': 'Excellent',
    'csat-comment': 'Anything to add? (optional)', 'csat-send': 'Send', 'csat-thanks': 'Thank you for your rating!', 'csat-skip': 'No, thanks'
  };

  // ---- storage (may be unavailable: private mode, sandboxed frames) --------
  var mem = {};
  var prefix = 'storedesk:' + slug + ':';
  function sget(k) {
    try { var v = localStorage.getItem(prefix + k); return v === null ? null : JSON.parse(v); }
    catch (e) { return k in mem ? mem[k] : null; }
  }
  function sset(k, v) {
    mem[k] = v;
    try { if (v === null || v === undefined) localStorage.removeItem(prefix + k); else localStorage.setItem(prefix + k, JSON.stringify(v)); } catch (e) { /* memory only */ }
  }

  // ---- state --------------------------------------------------------------
  var cfg = null, T = EN, dir = 'ltr';
  var token = sget('token');
  var history = sget('history') || [];     // public messages shown, oldest first (capped)
  var lastId = history.length ? (sget('last') || 0) : 0;
  var seenUpTo = sget('seen') || 0;         // agent has read visitor messages up to this id
  var pendingContact = sget('contact');     // {name,email} not yet confirmed by the server
  var visitor = { name: '', email: '' };
  var online = true, openNow = true;
  var context = {};
  var isOpen = false, wantOpen = false, unread = 0;
  var ws = null, welcomed = false, attempt = 0, retryTimer = 0, fatal = false, everConnected = false;
  var pingTimer = 0, lastRecv = 0, readSent = 0;
  var typingOn = false, typingTimer = 0, typingSentAt = 0, agentTypingTimer = 0;
  var byId = {};        // id -> element
  var byClient = {};    // client_id -> element (pending)
  var sentOffline = false, countUnread = true, helloLastId = 0;
  var survey = null, surveyWait = false;  // the rating asked for one chat, and whether our answer is in flight
  var ui = null;

  function outbox() { return sget('outbox') || []; }
  function outboxPut(entry) { var o = outbox().filter(function (e) { return e.client_id !== entry.client_id; }); o.push(entry); sset('outbox', o); }
  function outboxDrop(cid) { var o = outbox(), n = o.filter(function (e) { return e.client_id !== cid; }); if (n.length !== o.length) sset('outbox', n.length ? n : null); }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16); (window.crypto || {}).getRandomValues ? crypto.getRandomValues(b) : b.forEach(function (_, i) { b[i] = Math.random() * 256; });
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }
  function page() { return { url: location.href, title: document.title, referrer: document.referrer }; }
  function validEmail(s) { return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s); }
  function t(k) { return (T && T[k]) || EN[k] || ''; }

  // ---- proactive: page views, store events, campaigns -------------------------------
  // Nothing is sent until the page is idle. The server decides which
  // campaigns may show (audience, caps, hours, holdout, variant); the widget
  // only waits for each one's trigger and shows at most one per page view.
  var ptoken = sget('ptoken'), evq = [], evTimer = 0, pageReady = false, offers = [], shownOffer = null, loadedAt = Date.now();
  function vtoken() { return token || ptoken; }
  function post(path, body, beacon) {
    var url = origin + '/api/widget/' + encodeURIComponent(slug) + path, data = JSON.stringify(body);
    if (beacon && navigator.sendBeacon) return navigator.sendBeacon(url, data);
    return fetch(url, { method: 'POST', mode: 'cors', credentials: 'omit', keepalive: !!beacon, headers: { 'content-type': 'text/plain' }, body: data })
      .then(function (r) { return r.ok ? r.json() : null; });
  }
  function trackEvent(name, props) {
    name = String(name || '').slice(0, 64);
    if (!/^[a-z0-9_.-]+$/.test(name)) return;
    evq.push({ name: name, props: props && typeof props === 'object' ? props : {}, url: location.href });
    if (evq.length > 100) evq.shift();
    offers.forEach(function (o) { if (o.trigger.type === 'event' && o.trigger.name === name) fire(o); });
    clearTimeout(evTimer);
    evTimer = setTimeout(flushEvents, 800);
  }
  function flushEvents(beacon) {
    if (!pageReady || !vtoken() || !evq.length) return;
    var batch = evq.splice(0, 20);
    // An open chat socket carries them; else (or when leaving) a small POST.
    if (!(ws && welcomed && !beacon && send({ type: 'events', events: batch }))) post('/events', { token: vtoken(), events: batch }, beacon);
    if (evq.length) evTimer = setTimeout(flushEvents, 800);
  }
  // A signed identity goes before the page view when there is a visitor
  // already (so the campaigns see who it is), else right after it.
  var pendingIdentity = null;
  function sendIdentity() {
    if (!pendingIdentity || !vtoken()) return Promise.resolve();
    var b = pendingIdentity; pendingIdentity = null; b.token = vtoken();
    return post('/identify', b).then(function (r) {
      if (!r) { if (window.console) console.warn('storedesk: identify was refused; check user_hash'); return; }
      if (r.name) visitor.name = r.name;
      if (r.email) visitor.email = r.email;
      if (ui) renderMode();
      // The visitor may now be another contact: a new socket hears as them.
      if (ws) try { ws.close(); } catch (e) { /* closed */ }
    }, function () { /* try again on the next page */ });
  }
  function pageView() {
    if (pendingIdentity && vtoken()) return sendIdentity().then(viewPage);
    viewPage();
  }
  function viewPage() {
    post('/page', { token: vtoken() || null, url: location.href, title: document.title, referrer: document.referrer, lang: lang }).then(function (r) {
      if (!r) return;
      if (!token && r.visitor_token) { ptoken = r.visitor_token; sset('ptoken', ptoken); }
      pageReady = true;
      offers = r.campaigns || [];
      offers.forEach(arm);
      flushEvents();
      sendIdentity();
    }, function () { /* no campaigns this time */ });
  }
  function arm(o) {
    var tr = o.trigger;
    if (tr.type === 'time_on_page') setTimeout(function () { fire(o); }, Math.max(0, tr.seconds * 1000 - (Date.now() - loadedAt)));
    else if (tr.type === 'exit_intent') {
      if ('ontouchstart' in window && window.matchMedia && matchMedia('(pointer: coarse)').matches) return;  // touch only: no pointer to leave
      document.addEventListener('mouseout', function (e) { if (!e.relatedTarget && e.clientY <= 0) fire(o); });
    } else if (tr.type === 'scroll') {
      window.addEventListener('scroll', function () {
        var d = document.documentElement, max = d.scrollHeight - innerHeight;
        if (max <= 0 || (scrollY / max) * 100 >= tr.percent) fire(o);
      }, { passive: true });
    } else if (tr.type === 'event') {
      // Events sent before the offers came count too.
      evq.forEach(function (e) { if (e.name === tr.name) fire(o); });
    }
  }
  function fire(o) {
    if (!ui) return setTimeout(function () { fire(o); }, 300);
    if (shownOffer || isOpen) return;
    shownOffer = o;
    post('/campaigns/' + o.campaign_id + '/shown', { token: vtoken() });
    ui.nudge = el('div', { cls: 'nudge', 'data-sd': 'campaign', role: 'status', 'data-campaign': o.campaign_id }, [
      o.from ? el('strong', { text: o.from }) : null,
      el('button', { cls: 'nudge-text', type: 'button', text: o.text, onclick: function () { openPanel(); } }),
      el('button', { cls: 'nudge-x', type: 'button', 'aria-label': t('close'), text: '×', onclick: function () { ui.nudge.remove(); } })
    ]);
    ui.root.appendChild(ui.nudge);
  }
  function campaignOpened() {
    if (!shownOffer || shownOffer.opened) return;
    shownOffer.opened = true;
    if (ui.nudge) ui.nudge.remove();
    post('/campaigns/' + shownOffer.campaign_id + '/opened', { token: vtoken() });
    ui.list.appendChild(bubble({ from: 'agent', author_name: shownOffer.from || '', body: shownOffer.text, attachments: [] }, 'campaign-message'));
  }
  function campaignReplied() {
    if (!shownOffer || !shownOffer.opened || shownOffer.replied) return;
    shownOffer.replied = true;
    post('/campaigns/' + shownOffer.campaign_id + '/replied', { token: vtoken() });
  }
  window.addEventListener('pagehide', function () {
    trackEvent('page_left', { seconds: Math.round((Date.now() - loadedAt) / 1000) });
    flushEvents(true);
  });
  var idle = window.requestIdleCallback || function (f) { setTimeout(f, 1); };
  idle(pageView, { timeout: 3000 });

  // ---- page API -------------------------------------------------------------
  function api(cmd, arg, props) {
    if (cmd === 'context') {
      if (arg && typeof arg === 'object') for (var k in arg) if (Object.prototype.hasOwnProperty.call(arg, k)) context[k] = arg[k];
      if (welcomed) send({ type: 'context', page: page(), context: context });
    } else if (cmd === 'identify') {
      if (!arg || typeof arg !== 'object') return;
      if (arg.user_hash) {
        // Sent exactly as given: the store signed these very strings.
        pendingIdentity = {
          id: arg.id === undefined || arg.id === null ? null : String(arg.id),
          email: arg.email ? String(arg.email) : null,
          name: arg.name ? String(arg.name) : null,
          attributes: arg.attributes && typeof arg.attributes === 'object' ? arg.attributes : null,
          user_hash: String(arg.user_hash)
        };
        if (pageReady) sendIdentity();
        return;
      }
      var c = { name: String(arg.name || '').trim(), email: String(arg.email || '').trim() };
      if (c.email && !validEmail(c.email)) c.email = '';
      if (!c.name && !c.email) return;
      setContact(c);
    } else if (cmd === 'event') {
      trackEvent(arg, props);
    } else if (cmd === 'logout') {
      // The customer signed out of the store: this browser forgets the
      // visitor, so the next person at it starts as a new one.
      ['token', 'ptoken', 'contact', 'outbox'].forEach(function (k) { sset(k, null); });
      token = ptoken = pendingContact = pendingIdentity = null;
      resetHistory();
      if (ws) { fatal = true; try { ws.close(); } catch (e) { /* gone */ } }
    } else if (cmd === 'open') {
      if (ui) openPanel(); else wantOpen = true;
    } else if (cmd === 'close') {
      if (ui) closePanel(); else wantOpen = false;
    }
  }
  var queued = (window.storedesk && window.storedesk.q) || [];
  for (var qi = 0; qi < queued.length; qi++) { try { api.apply(null, queued[qi]); } catch (e) { /* ignore a bad call */ } }
  window.storedesk = function () { try { return api.apply(null, arguments); } catch (e) { /* never break the page */ } };

  function setContact(c) {
    if (c.name) visitor.name = c.name;
    if (c.email) visitor.email = c.email;
    pendingContact = { name: c.name || (pendingContact && pendingContact.name) || '', email: c.email || (pendingContact && pendingContact.email) || '' };
    sset('contact', pendingContact);
    if (welcomed) sendContact();
    if (ui) renderMode();
  }
  function sendContact() {
    if (!pendingContact) return;
    var f = { type: 'contact' };
    if (pendingContact.name) f.name = pendingContact.name;
    if (pendingContact.email) f.email = pendingContact.email;
    send(f);
  }

  // ---- DOM helpers ------------------------------------------------------------
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'cls') e.className = v;
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    if (kids) for (var i = 0; i < kids.length; i++) if (kids[i]) e.appendChild(typeof kids[i] === 'string' ? document.createTextNode(kids[i]) : kids[i]);
    return e;
  }
  // Static icons (no message data ever goes through innerHTML).
  var ICONS = {
    chat: '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-4.6 3.7A.9.9 0 0 1 3 21V6a2 2 0 0 1 1-2zm3 6.2a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6z"/></svg>',
    close: '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" d="M6 6l12 12M18 6L6 18"/></svg>',
    send: '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="currentColor" d="M3.4 20.4l17.45-7.48a1 1 0 0 0 0-1.84L3.4 3.6a.99.99 0 0 0-1.39.91L2 9.12c0 .5.37.93.87.99L17 12 2.87 13.88c-.5.07-.87.5-.87 1l.01 4.61c0 .71.73 1.2 1.39.91z"/></svg>',
    attach: '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l8-8"/></svg>',
    file: '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round" d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zM14 2v6h6"/></svg>'
  };
  function icon(name) { var s = el('span', { cls: 'ic' }); s.innerHTML = ICONS[name]; return s; }
  function safeUrl(u) {
    try { var x = new URL(u, origin); return (x.protocol === 'https:' || x.protocol === 'http:') ? x.href : null; } catch (e) { return null; }
  }
  // Text with http(s) links made clickable, all through text nodes.
  function richText(parent, text) {
    var re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g, last = 0, m;
    while ((m = re.exec(text))) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      var href = safeUrl(m[0]);
      parent.appendChild(href ? el('a', { href: href, target: '_blank', rel: 'noopener noreferrer nofollow', text: m[0] }) : document.createTextNode(m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function fmtTime(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d)) return '';
    try { return d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' }); } catch (e) { return ''; }
  }
  function fmtSize(n) { return n >= 1048576 ? (n / 1048576).toFixed(1) + ' MB' : Math.max(1, Math.round(n / 1024)) + ' KB'; }

  // ---- styles -----------------------------------------------------------------
  var CSS = [
    ':host{all:initial}',
    '.root{--sd-accent:#2563eb;--sd-on:#fff;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Vazirmatn",Tahoma,sans-serif;color:#111827;-webkit-font-smoothing:antialiased}',
    '.root *,.root *::before,.root *::after{box-sizing:border-box}',
    'button,input,textarea{font:inherit;color:inherit;margin:0}',
    'input,textarea{unicode-bidi:plaintext}',
    'button{cursor:pointer;background:none;border:0;padding:0}',
    '.ic{display:inline-flex;align-items:center;justify-content:center;line-height:0}',
    '.launcher{position:fixed;bottom:20px;right:20px;z-index:2147483646;width:60px;height:60px;border-radius:50%;background:var(--sd-accent);color:var(--sd-on);display:flex;align-items:center;justify-content:center;box-shadow:0 6px 20px rgba(0,0,0,.22);transition:transform .15s}',
    '.root.rtl .launcher{right:auto;left:20px}',
    '.launcher:hover{transform:scale(1.06)}',
    '.launcher:focus-visible,.panel button:focus-visible{outline:3px solid rgba(37,99,235,.5);outline-offset:2px}',
    '.badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#dc2626;color:#fff;font-size:12px;font-weight:600;line-height:20px;text-align:center}',
    '.badge[hidden]{display:none}',
    '.panel{position:fixed;bottom:92px;right:20px;z-index:2147483647;width:370px;max-width:calc(100vw - 24px);height:600px;max-height:calc(100vh - 112px);display:flex;flex-direction:column;background:#fff;border-radius:16px;overflow:hidden;box-shadow:0 12px 48px rgba(0,0,0,.25);border:1px solid rgba(0,0,0,.06)}',
    '.root.rtl .panel{right:auto;left:20px}',
    '.panel[hidden]{display:none}',
    '.head{background:var(--sd-accent);color:var(--sd-on);padding:14px 16px;display:flex;align-items:flex-start;gap:10px}',
    '.head .who{flex:1;min-width:0}',
    '.head h2{margin:0;font-size:16px;font-weight:650;line-height:1.3;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
    '.status{display:flex;align-items:center;gap:6px;font-size:13px;opacity:.95;margin-top:2px}',
    '.dot{width:8px;height:8px;border-radius:50%;background:#9ca3af;box-shadow:0 0 0 2px rgba(255,255,255,.6)}',
    '.dot.on{background:#22c55e}',
    '.queue{margin:8px 12px;padding:8px 10px;border-radius:8px;background:#f3f4f6;color:#111827;font-size:13px}',
    '.hours{font-size:12px;opacity:.85;margin-top:2px;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden}',
    '.hours:empty{display:none}',
    '.x{color:var(--sd-on);opacity:.9;border-radius:8px;padding:4px}',
    '.x:hover{opacity:1;background:rgba(255,255,255,.15)}',
    '.notice{background:#fef3c7;color:#92400e;font-size:12px;padding:6px 16px;text-align:center}',
    '.notice[hidden]{display:none}',
    '.scroll{flex:1;overflow-y:auto;padding:16px 14px 8px;background:#f8fafc;display:flex;flex-direction:column}',
    '.list{display:flex;flex-direction:column;gap:6px;list-style:none;margin:0;padding:0}',
    '.msg{max-width:82%;display:flex;flex-direction:column;align-items:flex-start}',
    '.msg.visitor{align-self:flex-end;align-items:flex-end}',
    '.msg.system{align-self:center;max-width:90%;align-items:center}',
    '.author{font-size:12px;color:#6b7280;margin:4px 6px 2px}',
    '.bubble{padding:8px 12px;border-radius:16px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;background:#fff;border:1px solid #e5e7eb;border-end-start-radius:4px}',
    '.visitor .bubble{background:var(--sd-accent);color:var(--sd-on);border-color:transparent;border-end-start-radius:16px;border-end-end-radius:4px}',
    '.system .bubble{background:transparent;border:0;color:#6b7280;font-size:12.5px;text-align:center;padding:4px 8px}',
    '.greet .bubble{background:#fff}',
    '.bubble a{color:inherit;text-decoration:underline}',
    '.bubble:empty{display:none}',
    '.meta{font-size:11px;color:#4b5563;margin:2px 6px 0;display:flex;gap:6px}',
    '.pending .bubble{opacity:.6}',
    '.failed .bubble{opacity:1;outline:2px solid #dc2626}',
    '.err{color:#dc2626;font-size:12px}',
    '.seen{font-size:11px;color:#6b7280;margin:0 6px}',
    '.atts{display:flex;flex-direction:column;gap:4px;margin-top:4px}',
    '.atts img{display:block;max-width:220px;max-height:220px;border-radius:12px;border:1px solid #e5e7eb;background:#fff}',
    '.file{display:inline-flex;align-items:center;gap:6px;padding:8px 10px;border-radius:12px;background:#fff;border:1px solid #e5e7eb;color:#111827;text-decoration:none;max-width:240px}',
    '.file span.n{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
    '.offline{margin:8px 0 4px;padding:10px 12px;border-radius:12px;background:#fff7ed;border:1px solid #fed7aa;color:#7c2d12;font-size:13px}',
    '.offline[hidden],.typing[hidden],.prechat[hidden],.err[hidden]{display:none}',
    '.typing{display:flex;align-items:center;gap:8px;color:#6b7280;font-size:12px;padding:6px 4px 0}',
    '.dots{display:inline-flex;gap:3px;padding:8px 10px;background:#fff;border:1px solid #e5e7eb;border-radius:14px}',
    '.dots i{width:6px;height:6px;border-radius:50%;background:#9ca3af;animation:sdb 1.2s infinite}',
    '.dots i:nth-child(2){animation-delay:.15s}.dots i:nth-child(3){animation-delay:.3s}',
    '@keyframes sdb{0%,60%,100%{transform:translateY(0);opacity:.5}30%{transform:translateY(-3px);opacity:1}}',
    '@media (prefers-reduced-motion:reduce){.dots i{animation:none}.launcher{transition:none}}',
    '.prechat{padding:10px 14px 0;display:flex;flex-direction:column;gap:6px;border-top:1px solid #eef0f3;background:#fff}',
    '.prechat input{width:100%;padding:8px 10px;border:1px solid #d1d5db;border-radius:10px;background:#fff;outline:none}',
    '.prechat input:focus,.composer textarea:focus{border-color:var(--sd-accent);box-shadow:0 0 0 3px rgba(37,99,235,.15)}',
    '.prechat input[hidden]{display:none}',
    '.prechat input[aria-invalid=true]{border-color:#dc2626;box-shadow:0 0 0 3px rgba(220,38,38,.15)}',
    '.rtl .prechat input[type=email]{direction:ltr;text-align:right}',
    '.composer{display:flex;align-items:flex-end;gap:6px;padding:10px 10px 8px;background:#fff}',
    '.suggest{padding:8px 12px 4px;background:#fffbeb;border-top:1px solid #fde68a;font-size:13px}',
    '.suggest[hidden],.composer[hidden]{display:none}',
    '.suggest a{display:block;color:#1d4ed8;text-decoration:none;padding:2px 0}',
    '.suggest a:hover{text-decoration:underline}',
    '.prechat[hidden]+.composer{border-top:1px solid #eef0f3}',
    '.composer textarea{flex:1;resize:none;min-height:40px;max-height:120px;padding:9px 12px;border:1px solid #d1d5db;border-radius:12px;outline:none;background:#fff;line-height:1.4}',
    '.btn{width:40px;height:40px;border-radius:50%;display:flex;align-items:center;justify-content:center;color:#6b7280;flex:none}',
    '.btn:hover{background:#f3f4f6}',
    '.btn.send{background:var(--sd-accent);color:var(--sd-on)}',
    '.btn.send:hover{background:var(--sd-accent);filter:brightness(1.08)}',
    '.btn:disabled{opacity:.45;cursor:default}',
    '.rtl .btn.send .ic{transform:scaleX(-1)}',
    '.foot{font-size:11px;color:#4b5563;text-align:center;padding:0 0 8px;background:#fff}',
    '.foot button{border:0;background:none;color:#2563eb;font:inherit;font-size:12px;cursor:pointer;padding:2px 6px}',
    '.cb{padding:10px 12px;background:#fff;border-top:1px solid #eef0f3}',
    '.cb[hidden]{display:none}',
    '.cb input{width:100%;box-sizing:border-box;margin:0 0 6px;padding:8px;border:1px solid #cbd5e1;border-radius:8px;font:inherit}',
    '.cb .go{width:100%;padding:8px;border:0;border-radius:8px;background:var(--sd-color,#2563eb);color:#fff;font:inherit;cursor:pointer}',
    '.cb .msg{margin:6px 0 0;font-size:13px;overflow-wrap:anywhere}',
    '.cb textarea{width:100%;box-sizing:border-box;margin:0 0 6px;padding:8px;border:1px solid #cbd5e1;border-radius:8px;font:inherit;min-height:70px;resize:vertical}',
    '.foot .links{display:flex;justify-content:center;gap:4px}',
    '.survey{margin:8px 0 4px;padding:10px 12px;border-radius:12px;background:#fff;border:1px solid #e5e7eb;font-size:13px}',
    '.survey[hidden]{display:none}',
    '.survey p{margin:0 0 6px}',
    '.survey .stars{display:flex;gap:4px;margin-bottom:6px}',
    '.survey .stars button{flex:1;height:34px;border:1px solid #94a3b8;border-radius:8px;background:#fff;color:#111827;font-weight:600}',
    '.survey .stars button[aria-pressed=true]{background:var(--sd-accent);color:var(--sd-on);border-color:transparent}',
    '.survey textarea{width:100%;min-height:56px;padding:6px 8px;border:1px solid #94a3b8;border-radius:8px;resize:vertical;background:#fff}',
    '.survey .row{display:flex;justify-content:flex-end;margin-top:6px}',
    '.survey .row button{padding:6px 12px;border-radius:8px;color:#1f2937;text-decoration:underline}',
    '.survey .row button.go{background:var(--sd-accent);color:var(--sd-on);text-decoration:none}',
    '.nudge{position:fixed;bottom:90px;right:20px;z-index:2147483646;max-width:280px;background:#fff;color:#111827;border:1px solid #e5e7eb;border-radius:14px;box-shadow:0 6px 20px rgba(0,0,0,.18);padding:10px 30px 10px 12px;font-size:14px}',
    '.root.rtl .nudge{right:auto;left:20px}',
    '.nudge strong{display:block;font-size:12.5px;margin-bottom:2px}',
    '.nudge-text{all:unset;cursor:pointer;white-space:pre-wrap}',
    '.nudge-x{position:absolute;top:4px;right:6px;background:none;border:0;font-size:18px;cursor:pointer;color:#4b5563}',
    '.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}',
    '@media (max-width:480px){.panel{right:0;left:0;bottom:0;width:100vw;max-width:100vw;height:100%;max-height:100%;border-radius:0}.root.rtl .panel{left:0}}'
  ].join('\n');

  // ---- build ----------------------------------------------------------------------
  function build() {
    var host = document.getElementById('storedesk-widget');
    if (!host) { host = document.createElement('div'); host.id = 'storedesk-widget'; (document.body || document.documentElement).appendChild(host); }
    host.setAttribute('style', 'all:initial !important;display:block !important;position:static !important');
    var root = host.shadowRoot || host.attachShadow({ mode: 'open' });
    while (root.firstChild) root.removeChild(root.firstChild);
    root.appendChild(el('style', { text: CSS }));

    var u = {};
    u.root = el('div', { cls: 'root' + (dir === 'rtl' ? ' rtl' : ''), dir: dir, lang: lang });
    var accent = /^#[0-9a-f]{6}$/i.test(cfg.color || '') ? cfg.color : '#2563eb';
    u.root.style.setProperty('--sd-accent', accent);
    u.root.style.setProperty('--sd-on', lum(accent) > 0.6 ? '#111827' : '#fff');

    u.badge = el('span', { cls: 'badge', hidden: true, 'aria-hidden': 'true' });
    u.launcher = el('button', { cls: 'launcher', type: 'button', 'data-sd': 'launcher', 'aria-label': t('open'), 'aria-expanded': 'false', title: t('title'), onclick: function () { isOpen ? closePanel() : openPanel(); } }, [icon('chat'), u.badge]);

    u.title = el('h2', { id: 'sd-title', text: cfg.name || t('title') });
    u.dot = el('span', { cls: 'dot', 'aria-hidden': 'true' });
    u.statusText = el('span');
    u.status = el('div', { cls: 'status', 'data-sd': 'status' }, [u.dot, u.statusText]);
    u.hours = el('div', { cls: 'hours' });
    u.close = el('button', { cls: 'x', type: 'button', 'aria-label': t('close'), title: t('close'), 'data-sd': 'close', onclick: closePanel }, [icon('close')]);
    var head = el('div', { cls: 'head' }, [el('div', { cls: 'who' }, [u.title, u.status, u.hours]), u.close]);

    u.notice = el('div', { cls: 'notice', role: 'status', hidden: true, text: t('reconnecting') });
    u.list = el('div', { cls: 'list', 'data-sd': 'messages', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions' });
    u.offline = el('div', { cls: 'offline', 'data-sd': 'offline', hidden: true });
    u.queue = el('div', { cls: 'queue', 'data-sd': 'queue', role: 'status', hidden: true });
    u.typingName = el('span');
    u.typing = el('div', { cls: 'typing', 'data-sd': 'typing', hidden: true, 'aria-live': 'polite' }, [el('span', { cls: 'dots', 'aria-hidden': 'true' }, [el('i'), el('i'), el('i')]), u.typingName]);
    u.survey = el('div', { cls: 'survey', 'data-sd': 'survey', role: 'group', 'aria-labelledby': 'sd-csat-q', hidden: true });
    u.scroll = el('div', { cls: 'scroll', tabindex: '0' }, [u.list, u.offline, u.queue, u.survey, u.typing]);

    u.name = el('input', { type: 'text', 'data-sd': 'prechat-name', autocomplete: 'name', maxlength: '200', placeholder: t('name'), 'aria-label': t('name') });
    u.email = el('input', { type: 'email', 'data-sd': 'prechat-email', autocomplete: 'email', maxlength: '254', placeholder: t('email'), 'aria-label': t('email') });
    u.err = el('div', { cls: 'err', role: 'alert', 'data-sd': 'error', hidden: true });
    u.prechat = el('div', { cls: 'prechat', hidden: true }, [u.name, u.email, u.err]);

    u.file = el('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp,application/pdf', multiple: true, hidden: true, tabindex: '-1', onchange: onFiles });
    u.attach = el('button', { cls: 'btn', type: 'button', 'data-sd': 'attach', 'aria-label': t('attach'), title: t('attach'), onclick: function () { u.file.click(); } }, [icon('attach')]);
    u.input = el('textarea', { rows: '1', 'data-sd': 'input', placeholder: t('placeholder'), 'aria-label': t('placeholder'), onkeydown: onKey, oninput: onInput });
    u.send = el('button', { cls: 'btn send', type: 'button', 'data-sd': 'send', 'aria-label': t('send'), title: t('send'), onclick: submit }, [icon('send')]);
    u.suggest = el('div', { cls: 'suggest', 'data-sd': 'suggestions', hidden: true, 'aria-live': 'polite' });
    var composer = u.composer = el('div', { cls: 'composer' }, [u.attach, u.input, u.send, u.file]);
    // Two forms beside the chat: a call-back request, and a written request
    // (the ticket form) for those who want an answer by mail.
    u.side = {
      callback: sideForm('callback', '/callback', [
        { name: 'name', label: 'name', ac: 'name', max: 200 },
        { name: 'phone', label: 'callback-phone', type: 'tel', ac: 'tel', max: 40, req: true },
        { name: 'when', label: 'callback-when', max: 100 }]),
      request: sideForm('request', '/new', [
        { name: 'name', label: 'name', ac: 'name', max: 200 },
        { name: 'email', label: 'email', type: 'email', ac: 'email', max: 254, req: true },
        { name: 'subject', label: 'request-subject', max: 300, req: true },
        { name: 'message', label: 'placeholder', tag: 'textarea', max: 10000, req: true },
        { name: 'order', label: 'request-order', max: 100 },
        { name: 'files', label: 'attach', type: 'file', max: 0 }])
    };
    u.cbToggle = sideToggle('callback');
    u.rqToggle = sideToggle('request');
    var foot = el('div', { cls: 'foot' }, [el('div', { cls: 'links' }, [u.rqToggle, u.cbToggle]), el('span', { text: t('powered') })]);

    u.panel = el('div', { cls: 'panel', 'data-sd': 'panel', role: 'dialog', 'aria-labelledby': 'sd-title', dir: dir, lang: lang, hidden: true, onkeydown: function (e) { if (e.key === 'Escape') { e.stopPropagation(); closePanel(); u.launcher.focus(); } } },
      [head, u.notice, u.scroll, u.prechat, u.suggest, composer, u.side.callback.box, u.side.request.box, foot]);

    u.root.appendChild(u.panel);
    u.root.appendChild(u.launcher);
    root.appendChild(u.root);
    ui = u;

    // Greeting first, then what we showed before, then messages not yet acknowledged.
    if (cfg.greeting) u.list.appendChild(bubble({ from: 'agent', author_name: '', body: cfg.greeting, attachments: [] }, 'greeting'));
    history.forEach(function (m) { render(m); });
    outbox().forEach(function (o) { renderPending(o); });
    renderStatus();
    renderMode();
    renderSeen();
    renderSurvey();
    if (wantOpen) openPanel();
  }

  // ---- satisfaction rating (asked when a chat is resolved) -------------------------
  function showSurvey(s) {
    if (!s || s.kind !== 'csat' || typeof s.ticket_number !== 'number') return;
    if (sget('survey-done') === s.ticket_number || (survey && survey.ticket_number === s.ticket_number)) return;
    survey = { ticket_number: s.ticket_number, score: 0, comment: '', done: false };
    renderSurvey();
    if (!isOpen) { unread++; renderBadge(); }
    scrollDown();
  }
  function renderSurvey() {
    if (!ui) return;
    var box = ui.survey;
    while (box.firstChild) box.removeChild(box.firstChild);
    box.hidden = !survey;
    if (!survey) return;
    if (survey.done) { box.appendChild(el('p', { role: 'status', 'data-sd': 'csat-thanks', text: t('csat-thanks') })); return; }
    box.appendChild(el('p', { id: 'sd-csat-q', text: t('csat-question') }));
    var stars = el('div', { cls: 'stars' });
    [1, 2, 3, 4, 5].forEach(function (n) {
      var label = n + ' – ' + t('csat-' + n);
      stars.appendChild(el('button', { type: 'button', 'data-sd': 'csat-' + n, 'aria-label': label, title: label, 'aria-pressed': survey.score === n ? 'true' : 'false', text: String(n), onclick: function () { rate(n); } }));
    });
    box.appendChild(stars);
    if (!survey.score) {
      box.appendChild(el('div', { cls: 'row' }, [el('button', { type: 'button', 'data-sd': 'csat-skip', text: t('csat-skip'), onclick: closeSurvey })]));
      return;
    }
    var c = el('textarea', { 'data-sd': 'csat-comment', maxlength: '2000', placeholder: t('csat-comment'), 'aria-label': t('csat-comment') });
    c.value = survey.comment;
    c.addEventListener('input', function () { survey.comment = c.value; });
    box.appendChild(c);
    box.appendChild(el('div', { cls: 'row' }, [el('button', { type: 'button', cls: 'go', 'data-sd': 'csat-send', text: t('csat-send'), onclick: function () { sendSurvey(true); } })]));
  }
  // A score is saved at once; the comment, if any, follows with Send.
  function rate(n) {
    survey.score = n;
    renderSurvey();
    sendSurvey(false);
    var b = ui.survey.querySelector('[data-sd="csat-' + n + '"]');
    if (b) try { b.focus({ preventScroll: true }); } catch (e) { /* ignore */ }
  }
  function sendSurvey(withComment) {
    var f = { type: 'csat', ticket_number: survey.ticket_number, score: survey.score };
    if (withComment) {
      f.comment = survey.comment.trim().slice(0, 2000);
      survey.done = true;
      sset('survey-done', survey.ticket_number);
      renderSurvey();
      setTimeout(function () { if (survey && survey.done) { survey = null; renderSurvey(); } }, 5000);
    }
    whenWelcomed(function () { surveyWait = true; send(f); });
  }
  function closeSurvey() {
    if (survey) sset('survey-done', survey.ticket_number);
    survey = null;
    renderSurvey();
  }

  function lum(hex) {
    var n = parseInt(hex.slice(1), 16), r = (n >> 16) / 255, g = ((n >> 8) & 255) / 255, b = (n & 255) / 255;
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  function bubble(m, hook) {
    var from = m.from === 'visitor' || m.from === 'system' ? m.from : 'agent';
    var wrap = el('div', { cls: 'msg ' + from + (hook === 'greeting' ? ' greet' : ''), 'data-sd': hook || 'message', 'data-from': hook === 'greeting' ? null : from });
    if (from === 'agent' && m.author_name) wrap.appendChild(el('div', { cls: 'author', dir: 'auto', text: m.author_name }));
    var b = el('div', { cls: 'bubble' });
    if (m.body) { var tx = el('div', { dir: 'auto' }); richText(tx, String(m.body)); b.appendChild(tx); }
    wrap.appendChild(b);
    var atts = m.attachments || [];
    if (atts.length) {
      var box = el('div', { cls: 'atts' });
      atts.forEach(function (a) {
        var href = safeUrl(a.url || '');
        if (!href) { box.appendChild(el('span', { cls: 'file' }, [icon('file'), el('span', { cls: 'n', text: a.name || '' })])); return; }
        if (/^image\//.test(a.content_type || '')) {
          box.appendChild(el('a', { href: href, target: '_blank', rel: 'noopener noreferrer' }, [el('img', { src: href, alt: a.name || '', loading: 'lazy' })]));
        } else {
          box.appendChild(el('a', { cls: 'file', href: href, target: '_blank', rel: 'noopener noreferrer' }, [icon('file'), el('span', { cls: 'n', text: a.name || '' }), el('span', { cls: 'meta', text: a.size ? fmtSize(a.size) : '' })]));
        }
      });
      wrap.appendChild(box);
    }
    if (hook !== 'greeting') wrap.appendChild(el('div', { cls: 'meta' }, [el('time', { text: fmtTime(m.created_at) })]));
    return wrap;
  }

  // Inserts a stored message in id order (pending ones stay last).
  function render(m) {
    var e = bubble(m);
    e.setAttribute('data-id', String(m.id));
    e._id = m.id;
    byId[m.id] = e;
    var kids = ui.list.children, before = null;
    for (var i = 0; i < kids.length; i++) {
      var k = kids[i];
      if (k.getAttribute('data-sd') !== 'message') continue;
      if (k._id === undefined || k._id > m.id) { before = k; break; }
    }
    ui.list.insertBefore(e, before);
    return e;
  }
  function renderPending(o) {
    var e = bubble({ from: 'visitor', body: o.body, attachments: o.attachments || [] });
    e.classList.add('pending');
    e.setAttribute('data-client-id', o.client_id);
    e._cid = o.client_id;
    byClient[o.client_id] = e;
    ui.list.appendChild(e);
    return e;
  }

  function remember(m) {
    history.push(m);
    if (history.length > 200) history = history.slice(-200);
    if (m.id > lastId) lastId = m.id;
    sset('history', history);
    sset('last', lastId);
  }

  // A stored message from the server (welcome, message frame) or our ack.
  function addMessage(m) {
    if (!m || typeof m.id !== 'number' || byId[m.id]) return;
    var pend = m.client_id && byClient[m.client_id];
    if (pend) {
      delete byClient[m.client_id];
      outboxDrop(m.client_id);
      pend.classList.remove('pending', 'failed');
      var er = pend.querySelector('.err'); if (er) er.parentNode.removeChild(er);
      pend.setAttribute('data-id', String(m.id));
      pend._id = m.id;
      byId[m.id] = pend;
      var tm = pend.querySelector('time'); if (tm && m.created_at) tm.textContent = fmtTime(m.created_at);
      // Keep id order: move it before any later stored message.
      var kids = ui.list.children;
      for (var i = 0; i < kids.length; i++) { if (kids[i] !== pend && kids[i]._id !== undefined && kids[i]._id > m.id) { ui.list.insertBefore(pend, kids[i]); break; } }
    } else {
      render(m);
    }
    remember(m);
    if (m.from === 'agent') {
      hideAgentTyping();
      if (!isOpen && countUnread) { unread++; renderBadge(); }
    }
    renderSeen();
    renderMode();
    scrollDown();
    if (isOpen) sendRead();
  }

  function scrollDown() { if (ui) ui.scroll.scrollTop = ui.scroll.scrollHeight; }

  function renderBadge() {
    if (!ui) return;
    ui.badge.hidden = !unread;
    ui.badge.textContent = unread > 9 ? '9+' : String(unread);
  }

  function renderStatus() {
    if (!ui) return;
    var on = online && openNow;
    ui.dot.className = 'dot' + (on ? ' on' : '');
    ui.statusText.textContent = on ? t('online') : t('offline');
    ui.status.setAttribute('data-online', on ? 'true' : 'false');
    ui.hours.textContent = cfg.hours ? t('hours') + ': ' + cfg.hours : '';
    ui.hours.title = ui.hours.textContent;
  }

  function offlineMode() { return !(online && openNow); }
  function hasMessages() { return history.length > 0 || outbox().length > 0; }

  // Which pre-chat fields to ask for now.
  function fieldsNeeded() {
    var p = cfg.prechat || {}, need = { name: null, email: null };
    var first = !hasMessages();
    if (first && p.name && p.name !== 'off' && !visitor.name) need.name = p.name;
    if (first && p.email && p.email !== 'off' && !visitor.email) need.email = p.email;
    if (offlineMode() && !visitor.email) need.email = 'required';
    return need;
  }

  function renderMode() {
    if (!ui) return;
    var off = offlineMode();
    ui.offline.hidden = !off;
    ui.offline.textContent = sentOffline ? t('sent-offline') : (cfg.offline_message || t('offline-intro'));
    var need = fieldsNeeded();
    ui.name.hidden = !need.name;
    ui.email.hidden = !need.email;
    ui.name.required = need.name === 'required';
    ui.email.required = need.email === 'required';
    ui.name.setAttribute('aria-required', need.name === 'required' ? 'true' : 'false');
    ui.email.setAttribute('aria-required', need.email === 'required' ? 'true' : 'false');
    ui.prechat.hidden = !need.name && !need.email;
    if (ui.prechat.hidden) showErr('');
  }

  function renderSeen() {
    if (!ui) return;
    var old = ui.list.querySelector('[data-sd="seen"]');
    var msgs = ui.list.querySelectorAll('[data-sd="message"][data-from="visitor"]');
    var lastV = msgs.length ? msgs[msgs.length - 1] : null;
    var want = lastV && lastV._id !== undefined && lastV._id <= seenUpTo ? lastV : null;
    if (old && old.parentNode === want) return;
    if (old) old.parentNode.removeChild(old);
    if (want) want.appendChild(el('div', { cls: 'seen', 'data-sd': 'seen', text: t('seen') }));
  }

  function showErr(text) { if (!ui) return; ui.err.textContent = text; ui.err.hidden = !text; }

  function setNotice() {
    if (!ui) return;
    ui.notice.hidden = fatal || welcomed || !everConnected;
  }

  function showAgentTyping(name) {
    if (!ui) return;
    ui.typingName.textContent = (name ? name + ' · ' : '') + t('typing');
    ui.typing.hidden = false;
    clearTimeout(agentTypingTimer);
    agentTypingTimer = setTimeout(hideAgentTyping, 8000);
    scrollDown();
  }
  function hideAgentTyping() { clearTimeout(agentTypingTimer); if (ui) ui.typing.hidden = true; }

  // ---- panel ---------------------------------------------------------------------
  function openPanel() {
    if (!ui) { wantOpen = true; return; }
    isOpen = true;
    ui.panel.hidden = false;
    ui.launcher.setAttribute('aria-expanded', 'true');
    ui.launcher.setAttribute('aria-label', t('close'));
    unread = 0; renderBadge();
    scrollDown();
    var f = !ui.name.hidden && !ui.name.value ? ui.name : (!ui.email.hidden && !ui.email.value ? ui.email : ui.input);
    try { f.focus({ preventScroll: true }); } catch (e) { /* ignore */ }
    connect();
    sendRead();
    campaignOpened();
  }
  function closePanel() {
    wantOpen = false;
    if (!ui) return;
    isOpen = false;
    ui.panel.hidden = true;
    ui.launcher.setAttribute('aria-expanded', 'false');
    ui.launcher.setAttribute('aria-label', t('open'));
    stopTyping();
  }

  // ---- composer --------------------------------------------------------------------
  function onKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); submit(); }
  }
  // ---- suggestions: help-centre articles while the first message is typed -------------
  var suggestTimer = null, suggested = false;
  function kbSession() {
    var k = 'storedesk:' + slug + ':kbsession', v = null;
    try { v = localStorage.getItem(k); if (!v) { v = 'w-' + uuid(); localStorage.setItem(k, v); } } catch (e) { v = 'w-anon'; }
    return v;
  }
  function hasOwnMessages() { return !!ui.list.querySelector('[data-from="visitor"]'); }
  function suggest(text) {
    clearTimeout(suggestTimer);
    if (text.trim().length < 4 || hasOwnMessages()) { ui.suggest.hidden = true; return; }
    suggestTimer = setTimeout(function () {
      var url = origin + '/p/' + encodeURIComponent(slug) + '/kb/search?lang=' + lang + '&session=' + encodeURIComponent(kbSession()) + '&q=' + encodeURIComponent(text.slice(0, 300));
      fetch(url, { mode: 'cors', credentials: 'omit' }).then(function (r) { return r.ok ? r.json() : { hits: [] }; }).then(function (r) {
        var hits = (r.hits || []).slice(0, 3);
        while (ui.suggest.firstChild) ui.suggest.removeChild(ui.suggest.firstChild);
        if (!hits.length || hasOwnMessages()) { ui.suggest.hidden = true; return; }
        suggested = true;
        ui.suggest.appendChild(el('div', { text: t('suggest') }));
        hits.forEach(function (h) {
          var href = safeUrl(h.url);
          if (href) ui.suggest.appendChild(el('a', { href: href, target: '_blank', rel: 'noopener', 'data-sd': 'suggestion', text: h.title }));
        });
        ui.suggest.hidden = false;
      }).catch(function () { ui.suggest.hidden = true; });
    }, 350);
  }
  // The visitor wrote to us after seeing articles: the search did not deflect them.
  function contactedAfterSuggest() {
    if (!suggested) return;
    suggested = false;
    ui.suggest.hidden = true;
    try {
      fetch(origin + '/p/' + encodeURIComponent(slug) + '/kb/contacted', { method: 'POST', mode: 'cors', credentials: 'omit', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ session: kbSession() }) }).catch(function () {});
    } catch (e) { /* analytics only */ }
  }

  function sideForm(kind, path, fields) {
    var inputs = {}, kids = [];
    fields.forEach(function (f) {
      var file = f.type === 'file';
      var e = el(f.tag || 'input', { type: f.tag ? null : (f.type || 'text'), 'data-sd': kind + '-' + f.name, maxlength: file ? null : String(f.max), autocomplete: file ? null : (f.ac || 'off'), placeholder: file ? null : t(f.label), 'aria-label': t(f.label), multiple: file ? true : null, accept: file ? 'image/png,image/jpeg,image/gif,image/webp,application/pdf' : null });
      inputs[f.name] = e; kids.push(e);
    });
    var msg = el('p', { cls: 'msg', role: 'status', 'data-sd': kind + '-result' });
    var go = el('button', { cls: 'go', type: 'button', 'data-sd': kind + '-send', text: t(kind + '-send') });
    kids.push(go, msg);
    var form = { box: el('div', { cls: 'cb', 'data-sd': kind, hidden: true }, kids), inputs: inputs, msg: msg, go: go };
    go.onclick = function () { sendSide(kind, path, fields, form); };
    return form;
  }
  function sideToggle(kind) {
    var b = el('button', { type: 'button', 'data-sd': kind + '-open', text: t(kind + '-open') });
    b.onclick = function () {
      var f = ui.side[kind], open = f.box.hidden;
      ['callback', 'request'].forEach(function (k) { ui.side[k].box.hidden = true; });
      ui.cbToggle.textContent = t('callback-open'); ui.rqToggle.textContent = t('request-open');
      f.box.hidden = !open;
      // The form takes the composer's place (and its name and e-mail
      // fields), rather than stacking a second set under it.
      ui.composer.hidden = open;
      ui.suggest.hidden = true;
      if (open) ui.prechat.hidden = true; else renderMode();
      b.textContent = open ? t('callback-back') : t(kind + '-open');
      if (open) { var first = f.box.querySelector('[aria-invalid],input'); if (first) first.focus(); }
    };
    return b;
  }
  // Posts the same form the store's pages have, and reads a JSON answer.
  function sendSide(kind, path, fields, form) {
    var fd = new FormData(), missing = null;
    fd.append('started', (cfg && cfg.form_started) || '');
    fd.append('website', '');
    fields.forEach(function (f) {
      if (f.type === 'file') {
        Array.prototype.forEach.call(form.inputs[f.name].files || [], function (x) { fd.append('files', x); });
        return;
      }
      var v = form.inputs[f.name].value.trim();
      form.inputs[f.name].removeAttribute('aria-invalid');
      if (f.req && !v && !missing) missing = form.inputs[f.name];
      fd.append(f.name, v);
    });
    if (kind === 'callback') fd.append('subject', (document.title || '').slice(0, 200));
    if (missing) { missing.setAttribute('aria-invalid', 'true'); missing.focus(); return; }
    form.go.disabled = true;
    fetch(origin + '/p/' + encodeURIComponent(slug) + path + '?lang=' + lang, { method: 'POST', body: fd, mode: 'cors', credentials: 'omit', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (x) {
        form.go.disabled = false;
        while (form.msg.firstChild) form.msg.removeChild(form.msg.firstChild);
        if (!x.ok) { form.msg.textContent = (x.j && x.j.error && x.j.error.message) || t('error-send'); return; }
        form.msg.appendChild(document.createTextNode(t(kind + '-done') + ' #' + x.j.number));
        var link = safeUrl(x.j.link);
        if (kind === 'request' && link) { form.msg.appendChild(el('br')); form.msg.appendChild(el('a', { href: link, target: '_blank', rel: 'noopener', 'data-sd': 'request-link', text: link })); }
        fields.forEach(function (f) { form.inputs[f.name].value = ''; });
      })
      .catch(function () { form.go.disabled = false; form.msg.textContent = t('error-send'); });
  }

  function onInput() {
    var ta = ui.input;
    suggest(ta.value);
    ta.style.height = 'auto';
    ta.style.height = Math.min(ta.scrollHeight + 2, 120) + 'px';
    if (!ta.value) { stopTyping(); return; }
    var now = Date.now();
    if (!typingOn || now - typingSentAt > 8000) { typingOn = true; typingSentAt = now; if (welcomed) send({ type: 'typing', on: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  }
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingOn) { typingOn = false; if (welcomed) send({ type: 'typing', on: false }); }
  }

  // Checks the pre-chat / offline fields; returns false (and says why) when they block sending.
  function takeFields() {
    var need = fieldsNeeded();
    var name = need.name ? ui.name.value.trim() : '', email = need.email ? ui.email.value.trim() : '';
    ui.name.removeAttribute('aria-invalid'); ui.email.removeAttribute('aria-invalid');
    if (need.name === 'required' && !name) { showErr(''); ui.name.setAttribute('aria-invalid', 'true'); ui.name.focus(); return false; }
    if ((need.email === 'required' && !email) || (email && !validEmail(email))) { showErr(t('email-required')); ui.email.setAttribute('aria-invalid', 'true'); ui.email.focus(); return false; }
    showErr('');
    if (name || email) setContact({ name: name, email: email });
    return true;
  }

  function submit() {
    var body = ui.input.value.replace(/^\s+|\s+$/g, '');
    if (!body) return;
    if (!takeFields()) return;
    ui.input.value = '';
    onInput();
    stopTyping();
    queueMessage(body, [], []);
  }

  function queueMessage(body, ids, atts) {
    contactedAfterSuggest();
    var o = { client_id: 'c-' + uuid(), body: body, attachment_ids: ids, attachments: atts };
    outboxPut(o);
    renderPending(o);
    if (offlineMode()) sentOffline = true;
    renderMode();
    renderSeen();
    scrollDown();
    if (welcomed) sendOut(o); else connect();
  }

  function sendOut(o) {
    var f = { type: 'message', client_id: o.client_id, body: o.body, attachment_ids: o.attachment_ids || [] };
    send(f);
  }

  function onFiles() {
    var files = Array.prototype.slice.call(ui.file.files || []);
    ui.file.value = '';
    if (!files.length) return;
    if (!takeFields()) return;
    var body = ui.input.value.trim();
    ui.input.value = '';
    onInput();
    whenWelcomed(function () {
      Promise.all(files.map(upload)).then(function (metas) {
        metas = metas.filter(Boolean);
        if (!metas.length) { if (body) queueMessage(body, [], []); return; }
        queueMessage(body, metas.map(function (m) { return m.id; }), metas);
      });
    });
  }

  function upload(file) {
    if (file.size > 10 * 1024 * 1024 || !/^(image\/(png|jpeg|gif|webp)|application\/pdf)$/.test(file.type || '')) { showErr(t('error-send') + ' (' + file.name + ')'); return Promise.resolve(null); }
    return fetch(origin + '/p/' + encodeURIComponent(slug) + '/chat/attachments?name=' + encodeURIComponent(file.name), {
      method: 'POST', headers: { 'Authorization': 'Bearer ' + token, 'Content-Type': file.type }, body: file, mode: 'cors', credentials: 'omit'
    }).then(function (r) {
      if (!r.ok) throw new Error('upload ' + r.status);
      return r.json();
    }).catch(function () { showErr(t('error-send') + ' (' + file.name + ')'); return null; });
  }

  var welcomeWaiters = [];
  function whenWelcomed(fn) { if (welcomed) fn(); else { welcomeWaiters.push(fn); connect(); } }

  // ---- socket -------------------------------------------------------------------------
  function send(f) {
    if (!ws || ws.readyState !== 1) return false;
    try { ws.send(JSON.stringify(f)); return true; } catch (e) { return false; }
  }

  function connect() {
    if (ws || fatal || !cfg) return;
    clearTimeout(retryTimer); retryTimer = 0;
    var s;
    try { s = new WebSocket(wsUrl); } catch (e) { scheduleReconnect(); return; }
    ws = s; welcomed = false;
    s.onopen = function () {
      if (ws !== s) return;
      lastRecv = Date.now();
      helloLastId = lastId;
      var zone = null;
      try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || null; } catch (e) { /* an old browser: the store's zone is used */ }
      s.send(JSON.stringify({ type: 'hello', token: token || ptoken || null, last_id: lastId, lang: lang, page: page(), context: context, user_agent: navigator.userAgent, time_zone: zone }));
    };
    s.onmessage = function (e) {
      if (ws !== s) return;
      lastRecv = Date.now();
      var f; try { f = JSON.parse(e.data); } catch (x) { return; }
      if (f && typeof f.type === 'string') onFrame(f, s);
    };
    s.onclose = function () {
      if (ws !== s) return;
      ws = null; welcomed = false;
      clearInterval(pingTimer);
      setNotice();
      scheduleReconnect();
    };
    s.onerror = function () { /* onclose follows */ };
  }

  function scheduleReconnect() {
    if (fatal || retryTimer) return;
    var base = Math.min(10000, 500 * Math.pow(2, attempt));
    attempt = Math.min(attempt + 1, 10);
    var delay = base / 2 + Math.random() * base / 2;  // jitter
    retryTimer = setTimeout(function () { retryTimer = 0; connect(); }, delay);
  }

  function onFrame(f, s) {
    switch (f.type) {
      case 'welcome': return onWelcome(f);
      case 'ack':
        var o = null;
        outbox().forEach(function (e) { if (e.client_id === f.client_id) o = e; });
        if (pendingContact) { pendingContact = null; sset('contact', null); }
        var pend = byClient[f.client_id];
        if (!o && !pend) return;
        addMessage({ id: f.id, from: 'visitor', author_name: visitor.name, body: o ? o.body : (pend.querySelector('.bubble') || {}).textContent || '', created_at: f.created_at, client_id: f.client_id, attachments: o && o.attachments || [] });
        campaignReplied();
        return;
      case 'message': if (ui && f.message && f.message.from === 'agent') ui.queue.hidden = true; return addMessage(f.message);
      case 'typing': if (f.on) showAgentTyping(f.name); else hideAgentTyping(); return;
      case 'read':
        if (typeof f.up_to === 'number' && f.up_to > seenUpTo) { seenUpTo = f.up_to; sset('seen', seenUpTo); renderSeen(); }
        return;
      case 'presence': online = !!f.online; renderStatus(); renderMode(); return;
      // Waiting in a team's queue: the place and the wait, said by the server in the visitor's language.
      case 'queue': if (ui) { ui.queue.textContent = f.text || ''; ui.queue.hidden = !f.text; } return;
      case 'contact_saved': pendingContact = null; sset('contact', null); return;
      case 'survey': showSurvey(f.survey); return;
      case 'csat_saved': surveyWait = false; return;
      case 'error':
        // Our rating was refused (that chat cannot be rated): stop asking.
        if (surveyWait && (f.code === 'not_found' || f.code === 'invalid_field')) { surveyWait = false; closeSurvey(); return; }
        if (f.code === 'unauthorized') {
          // The stored token is no longer valid: start over as a new visitor.
          token = null; sset('token', null); resetHistory();
          attempt = 0;
        } else if (f.code === 'origin_not_allowed' || f.code === 'unknown_workspace') {
          fatal = true; setNotice();
          try { s.close(); } catch (e) { /* closed */ }
        } else if (f.code === 'rate_limited') {
          attempt = 6;
        } else if (f.code !== 'too_slow' && f.code !== 'hello_required' && byClientCount()) {
          markStuck();
        }
        return;
      default: return;  // pong and anything newer
    }
  }

  function byClientCount() { var n = 0; for (var k in byClient) n++; return n; }

  // The server refused a frame while messages wait: after a few tries, give up on them.
  function markStuck() {
    var o = outbox();
    o.forEach(function (e) {
      e.tries = (e.tries || 0) + 1;
      if (e.tries >= 3) {
        var b = byClient[e.client_id];
        if (b) { b.classList.add('failed'); if (!b.querySelector('.err')) b.appendChild(el('div', { cls: 'err', text: t('error-send') })); delete byClient[e.client_id]; }
      }
    });
    sset('outbox', o.filter(function (e) { return e.tries < 3; }));
  }

  function resetHistory() {
    history = []; lastId = 0; seenUpTo = 0;
    sset('history', null); sset('last', null); sset('seen', null);
    if (!ui) return;
    for (var id in byId) { var e = byId[id]; if (e.parentNode) e.parentNode.removeChild(e); }
    byId = {};
    renderSeen();
  }

  function onWelcome(f) {
    if (f.visitor_token && token && f.visitor_token !== token) resetHistory();
    if (f.visitor_token) { token = f.visitor_token; sset('token', token); }
    welcomed = true; everConnected = true; attempt = 0;
    var v = f.visitor || {};
    if (v.name) visitor.name = v.name;
    if (v.email) visitor.email = v.email;
    if (typeof f.online === 'boolean') online = f.online;
    if (typeof f.open_now === 'boolean') openNow = f.open_now;
    if (typeof f.agent_read_up_to === 'number' && f.agent_read_up_to > seenUpTo) { seenUpTo = f.agent_read_up_to; sset('seen', seenUpTo); }
    // On a first visit (nothing shown before) history is not "unread".
    countUnread = helloLastId > 0;
    (f.messages || []).forEach(addMessage);
    countUnread = true;
    if (pendingContact) {
      if ((!pendingContact.email || pendingContact.email === v.email) && (!pendingContact.name || pendingContact.name === v.name)) { pendingContact = null; sset('contact', null); }
      else sendContact();
    }
    outbox().forEach(sendOut);
    if (f.survey) showSurvey(f.survey);
    setNotice();
    renderStatus();
    renderMode();
    renderSeen();
    if (isOpen) { readSent = 0; sendRead(); }
    clearInterval(pingTimer);
    var s = ws;
    pingTimer = setInterval(function () {
      if (ws !== s) return clearInterval(pingTimer);
      if (Date.now() - lastRecv > 60000) { try { s.close(); } catch (e) { /* closed */ } ws = null; welcomed = false; setNotice(); scheduleReconnect(); return; }
      send({ type: 'ping' });
    }, 25000);
    var w = welcomeWaiters; welcomeWaiters = [];
    w.forEach(function (fn) { fn(); });
  }

  function sendRead() {
    if (!welcomed || !isOpen || document.visibilityState === 'hidden') return;
    var up = 0;
    for (var i = 0; i < history.length; i++) if (history[i].from !== 'visitor' && history[i].id > up) up = history[i].id;
    if (up > readSent) { readSent = up; send({ type: 'read', up_to: up }); }
  }

  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') { sendRead(); if (!ws && !fatal && (token || isOpen)) { attempt = 0; connect(); } }
  });
  // Single-page shops: tell the agent when the page changes.
  function pageChanged() { if (welcomed) send({ type: 'context', page: page(), context: context }); }
  window.addEventListener('popstate', pageChanged);
  window.addEventListener('hashchange', pageChanged);
  window.addEventListener('online', function () { if (!ws && !fatal && (token || isOpen)) { attempt = 0; connect(); } });

  // ---- start --------------------------------------------------------------------------
  var cfgTries = 0;
  function loadConfig() {
    fetch(origin + '/p/' + encodeURIComponent(slug) + '/chat/config?lang=' + lang, { mode: 'cors', credentials: 'omit' })
      .then(function (r) {
        if (r.status === 404) throw 'gone';
        if (r.status === 403) {
          // Not one of the workspace's sites: stay hidden, and tell whoever
          // installed the snippet why.
          return r.json().then(function (e) {
            if (window.console) console.warn('storedesk: ' + ((e && e.error && e.error.message) || 'this site may not show the chat'));
            throw 'gone';
          }, function () { throw 'gone'; });
        }
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (c) {
        cfg = c || {};
        if (cfg.lang && LANGS.indexOf(cfg.lang) >= 0) lang = cfg.lang;
        dir = cfg.dir === 'rtl' || (!cfg.dir && lang === 'fa') ? 'rtl' : 'ltr';
        T = {};
        var tx = cfg.texts || {};
        for (var k in EN) T[k] = typeof tx[k] === 'string' && tx[k] ? tx[k] : EN[k];
        if (typeof cfg.online === 'boolean') online = cfg.online;
        if (typeof cfg.open_now === 'boolean') openNow = cfg.open_now;
        var start = function () {
          build();
          // A returning visitor (or one with unsent messages) reconnects at once; others on first open.
          if (token || outbox().length || wantOpen) connect();
        };
        if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
      })
      .catch(function (e) {
        if (e === 'gone') return;  // unknown workspace: stay invisible
        cfgTries++;
        setTimeout(loadConfig, Math.min(30000, 1000 * Math.pow(2, cfgTries)));
      });
  }
  idle(loadConfig, { timeout: 2000 });
})();
