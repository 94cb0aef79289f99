// The live seat map demo (§4.7, §4.8): draws a session's seats from its Server-Sent Events stream
// and lets a signed-in buyer hold seats by clicking, or ask for the best 2, 4 or 6 together.
(() => {
  const sessionId = location.pathname.split('/').filter(Boolean).pop();
  const seats = new Map(); // seat id -> button
  const mine = new Set(); // seat ids this page holds
  let accessToken = null;

  const $ = (selector) => document.querySelector(selector);
  const say = (text) => ($('#status').textContent = text);

  function paint(id, status) {
    const button = seats.get(id);
    if (!button) return;
    button.dataset.status = status;
    const own = status === 'held' && mine.has(id);
    button.className = `seat ${own ? 'mine' : status}`;
    button.title = `${button.dataset.label}: ${own ? 'yours' : status}`;
  }

  function draw(map) {
    $('#title').textContent = `${map.movie?.title ?? 'Session'} · ${map.room?.name ?? ''}`;
    $('#subtitle').textContent = new Date(map.startsAt).toLocaleString();
    const grid = $('#seats');
    grid.replaceChildren();
    seats.clear();
    const rows = [...new Set(map.seats.map((s) => s.row))];
    const perRow = Math.max(...map.seats.map((s) => s.number));
    grid.style.gridTemplateColumns = `18px repeat(${perRow}, 22px)`;
    for (const row of rows) {
      const label = document.createElement('span');
      label.className = 'row-label';
      label.textContent = row;
      grid.append(label);
      for (const seat of map.seats.filter((s) => s.row === row)) {
        const button = document.createElement('button');
        button.type = 'button';
        button.dataset.id = seat.id;
        button.dataset.label = seat.label;
        button.addEventListener('click', () => holdSeats({ seatIds: [seat.id] }));
        seats.set(seat.id, button);
        grid.append(button);
        paint(seat.id, seat.status);
      }
    }
  }

  async function api(path, options = {}) {
    const res = await fetch(path, {
      ...options,
      headers: {
        'content-type': 'application/json',
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
        ...options.headers,
      },
    });
    const body = res.status === 204 ? null : await res.json();
    return { status: res.status, body };
  }

  async function holdSeats(request) {
    if (!accessToken) return say('Sign in to hold seats.');
    const { status, body } = await api('/api/v1/holds', {
      method: 'POST',
      headers: { 'idempotency-key': crypto.randomUUID() },
      body: JSON.stringify(request),
    });
    if (status !== 201) return say(`Not held: ${body?.error?.message ?? status}`);
    for (const id of body.seatIds) {
      mine.add(id);
      paint(id, 'held');
    }
    const labels = body.seatIds.map((id) => seats.get(id)?.dataset.label).join(', ');
    say(`Held ${body.seatIds.length} seat(s): ${labels} — for ${body.expiresInSeconds} s.`);
  }

  $('#sign-in').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const { status, body } = await api('/api/v1/auth/token', {
      method: 'POST',
      body: JSON.stringify({ email: form.get('email'), password: form.get('password') }),
    });
    if (status !== 200) return say('Sign-in failed.');
    accessToken = body.accessToken;
    const me = await api('/api/v1/me');
    $('#who').textContent = `Signed in as ${me.body.name}`;
    document.querySelectorAll('[data-best]').forEach((b) => (b.disabled = false));
    say('Click a green seat, or ask for the best seats together.');
  });

  document
    .querySelectorAll('[data-best]')
    .forEach((button) =>
      button.addEventListener('click', () =>
        holdSeats({ sessionId, quantity: Number(button.dataset.best) }),
      ),
    );

  // The browser's EventSource reconnects by itself, sending Last-Event-ID.
  const stream = new EventSource(`/api/v1/sessions/${sessionId}/seats/stream`);
  stream.addEventListener('snapshot', (event) => {
    draw(JSON.parse(event.data));
    if (!accessToken) say('Live. Sign in to hold seats.');
  });
  stream.addEventListener('seats', (event) => {
    for (const { id, status } of JSON.parse(event.data).changes) {
      if (status !== 'held') mine.delete(id);
      paint(id, status);
    }
  });
  stream.addEventListener('error', () => say('Reconnecting…'));
})();
