/* storedesk survey page: the score chosen in the mail is saved as soon as
   the page opens in a browser. Mail scanners that only fetch the link save
   nothing; without this script the button still sends the form. */
(function () {
  'use strict';
  var form = document.querySelector('form[data-survey]');
  if (!form) return;
  var auto = form.getAttribute('data-auto');
  var status = document.getElementById('survey-status');
  function say(text) { if (status && text) { status.textContent = text; status.hidden = false; } }
  if (auto === null || !window.fetch) return;
  fetch(form.getAttribute('action'), {
    method: 'POST', credentials: 'omit',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ score: Number(auto) })
  }).then(function (r) {
    form.removeAttribute('data-auto');
    say(form.getAttribute(r.ok ? 'data-saved' : 'data-failed'));
  }).catch(function () { say(form.getAttribute('data-failed')); });
})();
