/* storedesk ticket form: suggests help-centre articles while the subject is
   typed, so the answer can be found before asking. No framework. */
(function () {
  'use strict';
  var form = document.querySelector('form[data-kb]');
  if (!form) return;
  var subject = form.querySelector('#subject');
  var box = document.getElementById('kb-suggest');
  if (!subject || !box) return;
  var url = form.getAttribute('data-kb'), lang = document.documentElement.lang || 'en', timer = null, last = '';
  var session = 'f-' + Math.random().toString(36).slice(2) + Date.now().toString(36);
  function clear() { while (box.firstChild) box.removeChild(box.firstChild); box.hidden = true; }
  function show(hits) {
    clear();
    if (!hits.length) return;
    var head = document.createElement('p');
    head.textContent = box.getAttribute('data-title');
    box.appendChild(head);
    hits.slice(0, 3).forEach(function (h) {
      var a = document.createElement('a');
      a.href = h.url; a.target = '_blank'; a.rel = 'noopener'; a.textContent = h.title;
      a.setAttribute('data-sd', 'suggestion');
      box.appendChild(a);
    });
    box.hidden = false;
  }
  subject.addEventListener('input', function () {
    clearTimeout(timer);
    var q = subject.value.trim();
    if (q.length < 4) { clear(); return; }
    timer = setTimeout(function () {
      if (q === last) return;
      last = q;
      fetch(url + '?lang=' + encodeURIComponent(lang) + '&session=' + session + '&q=' + encodeURIComponent(q.slice(0, 300)), { credentials: 'omit' })
        .then(function (r) { return r.ok ? r.json() : { hits: [] }; })
        .then(function (r) { show(r.hits || []); })
        .catch(clear);
    }, 350);
  });
  // Sending the form after seeing suggestions: the search did not deflect.
  form.addEventListener('submit', function () {
    if (box.hidden && !last) return;
    try { navigator.sendBeacon && navigator.sendBeacon(url.replace(/search$/, 'contacted'), new Blob([JSON.stringify({ session: session })], { type: 'application/json' })); } catch (e) { /* analytics only */ }
  });
})();
