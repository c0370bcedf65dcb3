// benchside web workbench: sign-in shell. All data goes through the REST API.

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  return { status: res.status, data };
}

function show(section) {
  for (const id of ['signin', 'home']) $(id).hidden = id !== section;
}

async function refresh() {
  const h = await api('GET', '/api/v1/health');
  $('health').textContent = h.status === 200
    ? `Server ${h.data.version}, database ${h.data.database}`
    : 'The server cannot reach its database.';
  const s = await api('GET', '/api/v1/session');
  if (s.status === 200) {
    $('who').textContent = `${s.data.user.display_name} (${s.data.user.role})`;
    const list = $('permissions');
    list.replaceChildren(...s.data.permissions.map((p) => {
      const li = document.createElement('li');
      li.textContent = p;
      return li;
    }));
    show('home');
  } else {
    $('who').textContent = '';
    show('signin');
    $('username').focus();
  }
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('signin-error').textContent = '';
  const r = await api('POST', '/api/v1/session', {
    username: $('username').value, password: $('password').value,
  });
  $('password').value = '';
  if (r.status === 200) {
    await refresh();
  } else {
    $('signin-error').textContent = r.data?.error?.message ?? `Sign-in failed (${r.status})`;
  }
});

$('signout').addEventListener('click', async () => {
  await api('DELETE', '/api/v1/session');
  await refresh();
});

refresh();
