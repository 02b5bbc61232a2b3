// The console's live parts: keyboard, canned answers, live updates over
// the agent stream, typing and read marks. Every page works without it.
(function () {
  'use strict';
  var body = document.body;
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var ticketEl = $('.ticket[data-ticket]');
  var ticketId = ticketEl ? Number(ticketEl.dataset.ticket) : 0;
  var contactId = ticketEl ? Number(ticketEl.dataset.contact) : 0;
  var live = $('#live');

  function say(text, href) {
    if (!live) return;
    live.textContent = '';
    if (href) {
      var a = document.createElement('a');
      a.href = href;
      a.textContent = text;
      live.appendChild(a);
    } else {
      live.textContent = text;
    }
    live.classList.add('shown');
    clearTimeout(say.t);
    say.t = setTimeout(function () { live.classList.remove('shown'); }, 6000);
  }

  // Words from the server (data-texts): the clock's, with {time} / {n}
  // where the numbers go, and the notifications', with {number}.
  var texts = {};
  try { texts = JSON.parse(body.dataset.texts || '{}'); } catch (err) { texts = {}; }
  texts.alerts = texts.alerts || {};
  texts.targets = texts.targets || {};
  function fill(tpl, key, value) { return String(tpl || '').replace('{' + key + '}', value); }
  var me = Number(body.dataset.me || 0);

  // ---- SLA clocks: "1 h 20 min left" ticks on from data-due, by the
  // server's clock (the page says what it was when written).
  var skew = body.dataset.now ? Number(body.dataset.now) - Date.now() : 0;
  function span(m) {
    var u = function (k, n) { return fill(texts[k], 'n', n); };
    if (m < 60) return u('min', m);
    if (m < 1440) return u('h', Math.floor(m / 60)) + (m % 60 ? ' ' + u('min', m % 60) : '');
    return u('d', Math.floor(m / 1440)) + (m % 1440 >= 60 ? ' ' + u('h', Math.floor((m % 1440) / 60)) : '');
  }
  function clocks(root) {
    if (!texts.left) return;
    var now = Date.now() + skew;
    $$('.sla[data-due]', root).forEach(function (el) {
      var due = Number(el.dataset.due), left = due > now;
      var m = left ? Math.ceil((due - now) / 60000) : Math.max(1, Math.floor((now - due) / 60000));
      var text = fill(left ? texts.left : texts.overdue, 'time', span(m));
      var t = $('.sla-t', el);
      if (t && t.textContent !== text) t.textContent = text;
      el.classList.toggle('sla-left', left);
      el.classList.toggle('sla-over', !left);
    });
  }
  setInterval(function () { clocks(document); }, 30000);
  window.addEventListener('pageshow', function (e) { if (e.persisted) clocks(document); });

  // ---- alerts: a browser notification and a short sound, each switched
  // per kind in Settings and kept in this browser.
  var KINDS = ['sla_warning', 'sla_breach', 'mention', 'chat', 'assigned'];
  var PREFS = 'storedesk:alerts:' + me;
  function store(key, value) { try { if (value === undefined) return localStorage.getItem(key); localStorage.setItem(key, value); } catch (err) { /* private mode */ } return null; }
  function prefs() {
    var p = {};
    try { p = JSON.parse(store(PREFS) || '{}') || {}; } catch (err) { p = {}; }
    KINDS.forEach(function (k) { p[k] = Object.assign({ show: true, sound: true }, p[k]); });
    return p;
  }
  var audio = null;
  function audioContext() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    if (!audio) { try { audio = new AC(); } catch (err) { return null; } }
    return audio;
  }
  // A page may make sound only once the agent has used it.
  function unlock() { var c = audioContext(); if (c && c.state === 'suspended' && c.resume) c.resume().catch(function () {}); }
  function wantsSound() { var p = prefs(); return KINDS.some(function (k) { return p[k].sound; }); }
  ['pointerdown', 'keydown'].forEach(function (ev) {
    document.addEventListener(ev, function () { if (me && wantsSound()) unlock(); }, { once: true, capture: true });
  });
  var TONES = { sla_warning: [660, 660], sla_breach: [880, 660, 880], mention: [740, 988], chat: [523, 784], assigned: [587, 880] };
  function beep(kind) {
    var c = audioContext();
    if (!c) return;
    if (c.state === 'suspended' && c.resume) c.resume().catch(function () {});
    var t0 = c.currentTime + 0.02;
    (TONES[kind] || [660]).forEach(function (freq, i) {
      var o = c.createOscillator(), g = c.createGain(), at = t0 + i * 0.17;
      o.type = 'sine';
      o.frequency.value = freq;
      g.gain.setValueAtTime(0.0001, at);
      g.gain.exponentialRampToValueAtTime(0.18, at + 0.015);
      g.gain.exponentialRampToValueAtTime(0.0001, at + 0.15);
      o.connect(g);
      g.connect(c.destination);
      o.start(at);
      o.stop(at + 0.16);
    });
  }
  // One alert per thing, however many console tabs are open.
  function firstTab(key) {
    var seen = {}, now = Date.now();
    try { seen = JSON.parse(store('storedesk:alerted') || '{}') || {}; } catch (err) { seen = {}; }
    if (seen[key] && now - seen[key] < 15000) return false;
    Object.keys(seen).forEach(function (k) { if (now - seen[k] > 60000) delete seen[k]; });
    seen[key] = now;
    store('storedesk:alerted', JSON.stringify(seen));
    return true;
  }
  function alertAgent(kind, number, text, key) {
    var p = prefs()[kind];
    if (!p || (!p.show && !p.sound) || !firstTab(kind + ':' + key)) return;
    if (p.sound) beep(kind);
    if (p.show && window.Notification && Notification.permission === 'granted') {
      try {
        var n = new Notification(fill(texts.alerts[kind], 'number', number), { body: text || '', tag: 'storedesk-' + kind + '-' + key, lang: body.dataset.lang || '' });
        n.onclick = function () { window.focus(); location.href = '/app/t/' + number; n.close(); };
      } catch (err) { /* where pages cannot notify (Android), the sound and the page's notice remain */ }
    }
  }
  // Who each ticket was assigned to when this tab last saw it, so a
  // change to "me" can be told from any other change.
  var assignees = {};
  try { assignees = JSON.parse(sessionStorage.getItem('storedesk:assignees') || '{}') || {}; } catch (err) { assignees = {}; }
  function seenAssignee(id, who) {
    assignees[id] = who;
    var keys = Object.keys(assignees);
    if (keys.length > 2000) keys.slice(0, keys.length - 2000).forEach(function (k) { delete assignees[k]; });
    try { sessionStorage.setItem('storedesk:assignees', JSON.stringify(assignees)); } catch (err) { /* private mode */ }
  }
  function seedAssignees(root) {
    $$('[data-ticket-id][data-assignee]', root).forEach(function (el) { seenAssignee(el.dataset.ticketId, el.dataset.assignee ? Number(el.dataset.assignee) : null); });
  }
  seedAssignees(document);
  if (ticketEl) seenAssignee(String(ticketId), ticketEl.dataset.assignee ? Number(ticketEl.dataset.assignee) : null);
  // What the agent does here themselves is not news to them.
  var acting = false;
  document.addEventListener('submit', function () { acting = true; store('storedesk:acted', String(Date.now())); }, true);
  function actedJustNow() { return acting || Date.now() - Number(store('storedesk:acted') || 0) < 5000; }
  function watchTicket(f) {
    var t = f.ticket;
    if (!t || !me) return;
    var key = String(t.id), who = t.assignee_id == null ? null : t.assignee_id;
    var before = Object.prototype.hasOwnProperty.call(assignees, key) ? assignees[key] : undefined;
    seenAssignee(key, who);
    if (f.type === 'ticket_created' && t.channel === 'chat' && (who === null || who === me)) {
      alertAgent('chat', t.number, t.subject, key);
    } else if (who === me && (f.type === 'ticket_created' || (before !== undefined && before !== me)) && !actedJustNow()) {
      alertAgent('assigned', t.number, t.subject, key + ':' + t.updated_at);
    }
  }

  // Selects that act at once; the button stays for use without script.
  // Fields save as they change; their Save buttons are for pages without script.
  $$('select[data-autosubmit], input[data-autosubmit]').forEach(function (s) {
    var b = s.form && s.form.querySelector('button[type=submit]');
    if (b) b.hidden = true;
    s.addEventListener('change', function () { s.form.requestSubmit ? s.form.requestSubmit() : s.form.submit(); });
  });
  $$('form.snooze').forEach(function (f) {
    f.elements.tz_offset.value = String(new Date().getTimezoneOffset());
    var at = f.elements.snooze_at;
    var pick = f.elements.snooze;
    function sync() { at.hidden = pick.value !== 'at'; at.required = pick.value === 'at'; }
    pick.addEventListener('change', sync);
    sync();
  });
  // A kind saves as it is chosen, except a missing feature: that waits
  // for the feature's name.
  $$('form.kind').forEach(function (f) {
    var pick = f.elements.kind, box = $('.feature', f), save = f.querySelector('button[type=submit]');
    var wants = function () { return pick.value === 'missing_feature'; };
    box.hidden = save.hidden = !wants();
    pick.addEventListener('change', function () {
      box.hidden = save.hidden = !wants();
      if (wants()) f.elements.feature.focus();
      else if (f.requestSubmit) f.requestSubmit(); else f.submit();
    });
  });
  $$('input.copy, textarea.copy').forEach(function (el) {
    el.addEventListener('focus', function () { el.select(); });
  });

  // ---- inbox selection and keyboard ----
  var selected = -1;
  function rows() { return $$('#inbox-list a.open'); }
  function select(i, focus) {
    var r = rows();
    if (!r.length) return;
    selected = Math.max(0, Math.min(r.length - 1, i));
    r.forEach(function (a, k) { a.parentNode.classList.toggle('selected', k === selected); if (k === selected) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current'); });
    if (focus !== false) r[selected].focus();
    r[selected].scrollIntoView({ block: 'nearest' });
  }

  var composer = $('#composer');
  var textarea = composer ? composer.elements.body : null;
  function setKind(kind) {
    if (!composer) return;
    var radio = composer.querySelector('input[name=kind][value=' + kind + ']');
    radio.checked = true;
    composer.classList.toggle('is-note', kind === 'note');
    textarea.placeholder = kind === 'note' ? textarea.dataset.noteHint : textarea.dataset.replyHint;
    $('#canned-help').textContent = textarea.placeholder;
  }
  if (composer) {
    $$('input[name=kind]', composer).forEach(function (r) { r.addEventListener('change', function () { setKind(r.value); }); });
  }

  function typingTarget(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (typingTarget(e)) {
      if (e.key === 'Escape') e.target.blur();
      return;
    }
    var help = $('#help');
    switch (e.key) {
      case 'j': select(selected + 1); break;
      case 'k': select(selected - 1); break;
      case 'Enter':
        if (selected >= 0 && rows()[selected]) { rows()[selected].click(); } else { return; }
        break;
      case 'r': if (!composer) return; setKind('reply'); textarea.focus(); break;
      case 'n': if (!composer) return; setKind('note'); textarea.focus(); break;
      case 'a': var a = $('#ctl-assignee'); if (!a) return; a.focus(); break;
      case 's': var s = $('#ctl-status'); if (!s) return; s.focus(); break;
      case '/': var q = $('#search'); if (!q) return; q.focus(); q.select(); break;
      case '?': if (help && help.showModal) { help.open ? help.close() : help.showModal(); } break;
      default: return;
    }
    e.preventDefault();
  });

  // ---- canned answers: "/shortcut" in the reply box ----
  var canned = [];
  var cannedData = $('#canned-data');
  if (cannedData) { try { canned = JSON.parse(cannedData.dataset.items || '[]'); } catch (err) { canned = []; } }
  var menu = $('#canned-menu');
  var menuItems = [];
  var menuAt = 0;

  function slashWord() {
    var v = textarea.value, end = textarea.selectionStart;
    var start = end;
    while (start > 0 && !/\s/.test(v.charAt(start - 1))) start--;
    var word = v.slice(start, end);
    return word.charAt(0) === '/' ? { start: start, end: end, word: word.slice(1).toLowerCase() } : null;
  }
  function closeMenu() { if (menu) { menu.hidden = true; menuItems = []; textarea.removeAttribute('aria-activedescendant'); } }
  function insert(item) {
    var w = slashWord();
    if (!w) return closeMenu();
    var v = textarea.value;
    textarea.value = v.slice(0, w.start) + item.body + v.slice(w.end);
    var pos = w.start + item.body.length;
    textarea.setSelectionRange(pos, pos);
    closeMenu();
    textarea.focus();
  }
  function paint() {
    menu.innerHTML = '';
    menuItems.forEach(function (it, i) {
      var li = document.createElement('li');
      li.id = 'canned-' + i;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', i === menuAt ? 'true' : 'false');
      var b = document.createElement('strong');
      b.textContent = '/' + it.shortcut;
      var p = document.createElement('span');
      p.textContent = ' ' + it.body.slice(0, 90);
      li.appendChild(b);
      li.appendChild(p);
      li.addEventListener('mousedown', function (ev) { ev.preventDefault(); insert(it); });
      menu.appendChild(li);
    });
    if (!menuItems.length) {
      var none = document.createElement('li');
      none.textContent = cannedData.dataset.empty;
      menu.appendChild(none);
    } else {
      textarea.setAttribute('aria-activedescendant', 'canned-' + menuAt);
    }
    menu.hidden = false;
  }
  if (textarea && menu) {
    textarea.setAttribute('aria-controls', 'canned-menu');
    textarea.addEventListener('input', function () {
      var w = slashWord();
      if (!w) return closeMenu();
      menuItems = canned.filter(function (c) { return c.shortcut.indexOf(w.word) === 0; }).slice(0, 8);
      menuAt = 0;
      paint();
    });
    textarea.addEventListener('keydown', function (e) {
      if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); composer.requestSubmit(); return; }
      if (menu.hidden || !menuItems.length) { if (e.key === 'Escape') closeMenu(); return; }
      if (e.key === 'ArrowDown') { menuAt = (menuAt + 1) % menuItems.length; paint(); e.preventDefault(); }
      else if (e.key === 'ArrowUp') { menuAt = (menuAt + menuItems.length - 1) % menuItems.length; paint(); e.preventDefault(); }
      else if (e.key === 'Enter' || e.key === 'Tab') { insert(menuItems[menuAt]); e.preventDefault(); }
      else if (e.key === 'Escape') { closeMenu(); e.preventDefault(); }
    });
    textarea.addEventListener('blur', function () { setTimeout(closeMenu, 150); });
    // A reply is posted once, however often the button is pressed.
    composer.addEventListener('submit', function () { $('#send').disabled = true; });
  }

  // ---- live updates ----
  var socket = null;
  var backoff = 1000;

  function send(frame) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame));
  }

  function refresh(wrapSel, targetSel, done) {
    var wrap = $(wrapSel);
    if (!wrap) return;
    var url = wrap.dataset.refresh || (wrap.querySelector('[data-refresh]') || {}).dataset.refresh;
    fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      var old = $(targetSel);
      var tmp = document.createElement('div');
      tmp.innerHTML = html;
      var fresh = tmp.querySelector(targetSel);
      if (old && fresh) old.replaceWith(fresh);
      if (fresh && fresh.dataset.now) skew = Number(fresh.dataset.now) - Date.now();
      if (fresh && window.storedeskTimes) window.storedeskTimes(fresh);
      if (done) done();
    }).catch(function () { /* the next event or a reload will catch up */ });
  }

  var listTimer = null;
  // Ticked tickets stay ticked when the list refreshes itself.
  function picked() { return $$('#inbox-list input.pick:checked').map(function (c) { return c.name; }); }
  function repick(names) { names.forEach(function (n) { var c = $('#inbox-list input.pick[name="' + n + '"]'); if (c) c.checked = true; }); }
  function refreshList() {
    clearTimeout(listTimer);
    listTimer = setTimeout(function () {
      var keep = selected >= 0 && rows()[selected] ? rows()[selected].dataset.number : null;
      var hadFocus = document.activeElement && document.activeElement.classList.contains('open');
      var ticked = picked();
      refresh('.list', '#inbox-list', function () {
        repick(ticked);
        if (keep) {
          var i = rows().findIndex(function (a) { return a.dataset.number === keep; });
          if (i >= 0) select(i, hadFocus);
        }
      });
    }, 250);
  }

  var lastRead = 0;
  function markRead() {
    var conv = $('#conversation');
    if (!conv || !ticketId) return;
    var up = Number(conv.dataset.last || 0);
    if (up > lastRead && document.visibilityState === 'visible') {
      lastRead = up;
      send({ type: 'read', ticket_id: ticketId, up_to: up });
    }
  }
  document.addEventListener('visibilitychange', markRead);

  var convTimer = null;
  function refreshConversation() {
    clearTimeout(convTimer);
    convTimer = setTimeout(function () {
      var conv = $('#conversation');
      var atBottom = conv && (window.innerHeight + window.scrollY >= document.body.scrollHeight - 80);
      refresh('#conversation-wrap', '#conversation', function () {
        markRead();
        if (atBottom) window.scrollTo(0, document.body.scrollHeight);
      });
    }, 100);
  }

  var typingTimer = null;
  function showTyping(on) {
    var el = $('#typing');
    if (!el) return;
    el.textContent = on ? body.dataset.typing : '';
    clearTimeout(typingTimer);
    if (on) typingTimer = setTimeout(function () { el.textContent = ''; }, 8000);
  }

  function onFrame(f) {
    switch (f.type) {
      case 'ticket_created':
      case 'ticket_updated':
      case 'message':
        if (f.type !== 'message') watchTicket(f);
        if ($('#inbox-list')) refreshList();
        var tid = f.ticket_id || (f.ticket && f.ticket.id);
        if (ticketId && tid === ticketId) {
          refreshConversation();
          if (f.type === 'ticket_updated') say(body.dataset.updated);
          if (f.type === 'message' && f.message && f.message.author_type === 'contact') showTyping(false);
        }
        break;
      case 'typing':
        if (ticketId && f.ticket_id === ticketId && f.from === 'visitor') showTyping(f.on);
        break;
      case 'visitor':
        if (contactId && f.contact_id === contactId) {
          var st = $('#visitor-status');
          if (st) { st.textContent = f.online ? body.dataset.online : body.dataset.offline; st.className = 'presence ' + (f.online ? 'on' : 'off'); }
        }
        break;
      case 'visitor_read':
        if (ticketId && f.ticket_id === ticketId) {
          $$('#conversation li.from-agent.reply').forEach(function (li) {
            if (Number(li.dataset.id) <= f.up_to) { var s = li.querySelector('.seen'); if (s) s.hidden = false; }
          });
        }
        break;
      case 'mention':
        var badge = $('#mentions-badge');
        if (badge) { badge.textContent = String(Number(badge.textContent || 0) + 1); badge.hidden = false; }
        say(body.dataset.mentioned + ' #' + f.number, '/app/t/' + f.number);
        alertAgent('mention', f.number, '', f.ticket_id + ':' + Math.floor(Date.now() / 15000));
        break;
      case 'sla':
        // Warnings and breaches on my tickets and on nobody's.
        if (f.assignee_id == null || f.assignee_id === me) {
          var kind = f.breached ? 'sla_breach' : 'sla_warning';
          var due = f.due_at ? new Date(f.due_at) : null;
          var target = texts.targets[f.target] || f.target || '';
          var line = (f.subject || '') + (target ? '\n' + target + (due && !isNaN(due) ? ' · ' + fmt(due) : '') : '');
          say(fill(texts.alerts[kind], 'number', f.number), '/app/t/' + f.number);
          alertAgent(kind, f.number, line, f.ticket_id + ':' + f.target);
        }
        if ($('#inbox-list')) refreshList();
        break;
    }
  }

  function connect() {
    var proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(proto + '//' + location.host + '/api/v1/stream');
    socket.onopen = function () { backoff = 1000; lastRead = 0; markRead(); };
    socket.onmessage = function (ev) { try { onFrame(JSON.parse(ev.data)); } catch (err) { /* not ours */ } };
    socket.onclose = function () {
      socket = null;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }
  if (body.dataset.section && body.dataset.me) connect();

  // Typing: tell the customer while the agent writes a reply.
  if (textarea && ticketId) {
    var typingOn = false, idle = null, lastSent = 0;
    textarea.addEventListener('input', function () {
      if (composer.elements.kind.value !== 'reply') return;
      var now = Date.now();
      if (!typingOn || now - lastSent > 3000) { send({ type: 'typing', ticket_id: ticketId, on: true }); typingOn = true; lastSent = now; }
      clearTimeout(idle);
      idle = setTimeout(function () { send({ type: 'typing', ticket_id: ticketId, on: false }); typingOn = false; }, 4000);
    });
  }

  // ---- times: in the agent's zone (Settings, else the browser's) and
  // language, recent ones as "5 minutes ago"; the server writes UTC.
  var tz = document.body.dataset.tz || undefined;
  var lang = document.body.dataset.lang || undefined;
  var UTC = /(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}) UTC/;
  function fmt(d) {
    var o = { dateStyle: 'medium', timeStyle: 'short' };
    try { return new Intl.DateTimeFormat(lang, Object.assign({ timeZone: tz }, o)).format(d); } catch (e) { return new Intl.DateTimeFormat(lang, o).format(d); }
  }
  var rel = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(lang, { numeric: 'auto' }) : null;
  function ago(d) {
    var s = (d.getTime() - Date.now()) / 1000, a = Math.abs(s);
    if (!rel || a >= 86400 * 3) return null;
    if (a < 60) return rel.format(0, 'second');
    if (a < 3600) return rel.format(Math.round(s / 60), 'minute');
    if (a < 86400) return rel.format(Math.round(s / 3600), 'hour');
    return rel.format(Math.round(s / 86400), 'day');
  }
  function parseUtc(text) { var m = UTC.exec(text); return m ? new Date(m[1] + 'T' + m[2] + ':00Z') : null; }
  function localTimes(root) {
    $$('time', root).forEach(function (el) {
      var iso = el.getAttribute('datetime');
      var d = iso ? new Date(iso) : parseUtc(el.textContent);
      if (!d || isNaN(d)) return;
      if (!iso) el.setAttribute('datetime', d.toISOString());
      var full = fmt(d);
      el.textContent = el.hasAttribute('data-abs') ? full : ago(d) || full;
      el.title = full;
    });
    // Times inside conversation lines ("Snoozed until ...").
    $$('.msg.event > span', root).forEach(function (el) {
      var d = parseUtc(el.textContent);
      if (d && !isNaN(d)) el.textContent = el.textContent.replace(UTC, fmt(d));
    });
  }
  localTimes(document);
  setInterval(function () { localTimes(document); }, 60000);
  window.storedeskTimes = localTimes;
  var tzSelect = $('#tz');
  if (tzSelect && Intl.supportedValuesOf) {
    var cur = tzSelect.dataset.current;
    Intl.supportedValuesOf('timeZone').forEach(function (z) {
      if (z === cur) return;
      var o = document.createElement('option'); o.value = z; o.textContent = z.replace(/_/g, ' ');
      tzSelect.appendChild(o);
    });
  }

  // ---- Settings: notifications and sounds, kept in this browser ----
  var alertsBox = $('#alerts');
  if (alertsBox) {
    alertsBox.hidden = false;
    var alertsState = $('#alerts-state'), enable = $('#alerts-enable');
    var showPermission = function () {
      var perm = window.Notification ? Notification.permission : 'unsupported';
      alertsState.textContent = (texts.permission || {})[perm] || '';
      enable.hidden = perm !== 'default';
    };
    showPermission();
    // Asked only when the agent presses the button.
    enable.addEventListener('click', function () {
      unlock();
      var asked = Notification.requestPermission(showPermission);
      if (asked && asked.then) asked.then(showPermission);
    });
    var chosen = prefs();
    $$('input[data-alert]', alertsBox).forEach(function (box) {
      box.checked = !!chosen[box.dataset.alert][box.dataset.part];
      box.addEventListener('change', function () {
        var p = prefs();
        p[box.dataset.alert][box.dataset.part] = box.checked;
        store(PREFS, JSON.stringify(p));
      });
    });
    $('#alerts-test').addEventListener('click', function () {
      unlock();
      beep('sla_breach');
      if (window.Notification && Notification.permission === 'granted') {
        try { new Notification('storedesk', { body: texts.alerts.test || '' }); } catch (err) { /* the sound is the test */ }
      }
    });
  }

  // ---- rule and macro editors: comparisons that fit the field, more rows ----
  // Without script every comparison is offered (the server names a wrong
  // one) and each save brings three new empty rows.
  function fitOps(row) {
    var field = $('.c-field', row), op = $('.c-op', row);
    var chosen = field && field.options[field.selectedIndex];
    if (!op || !chosen) return;
    var fits = chosen.dataset.ops ? chosen.dataset.ops.split(',') : null;
    $$('option', op).forEach(function (o) { o.hidden = o.disabled = !!fits && fits.indexOf(o.value) < 0; });
    if (fits && fits.indexOf(op.value) < 0) op.value = fits[0];
  }
  $$('fieldset.cond').forEach(fitOps);
  document.addEventListener('change', function (e) {
    if (e.target.classList && e.target.classList.contains('c-field')) fitOps(e.target.closest('fieldset.cond'));
  });
  $$('button[data-add-row]').forEach(function (b) {
    var box = document.getElementById(b.dataset.addRow);
    if (!box) return;
    b.hidden = false;
    b.addEventListener('click', function () {
      var rows = $$('fieldset.row', box), n = rows.length;
      if (!n || n >= Number(box.dataset.max)) return;
      var copy = rows[n - 1].cloneNode(true);
      $$('[name]', copy).forEach(function (el) {
        el.name = el.name.replace(/^([ca])\d+_/, '$1' + n + '_');
        if (el.type === 'hidden') { el.remove(); return; }
        if (el.tagName === 'SELECT') { $$('option', el).forEach(function (o) { o.selected = false; o.hidden = o.disabled = false; }); el.selectedIndex = el.multiple ? -1 : 0; }
        else el.value = '';
      });
      $('.n', copy).textContent = String(n + 1);
      box.appendChild(copy);
      $('select', copy).focus();
    });
  });

  // ---- The ticket's timer: its running time (h:mm) ticks on from
  // data-started, by the server's clock; the timer itself lives on the
  // server, so a reload shows it still running.
  var timers = $$('.timer-elapsed[data-started]');
  function tickTimers() {
    timers.forEach(function (el) {
      var mins = Math.max(0, Math.floor((Date.now() + skew - Number(el.dataset.started)) / 60000));
      var mm = mins % 60;
      el.textContent = Math.floor(mins / 60) + ':' + (mm < 10 ? '0' : '') + mm;
    });
  }
  if (timers.length) { tickTimers(); setInterval(tickTimers, 15000); }

  if (location.hash && location.hash.indexOf('#m') === 0) {
    var m = $(location.hash);
    if (m) m.scrollIntoView({ block: 'center' });
  } else if (ticketId) {
    var c = $('#conversation');
    if (c && c.lastElementChild) c.lastElementChild.scrollIntoView({ block: 'end' });
  }
})();
