// Keeps an open account page current: listens to the server's events and
// refreshes the parts marked data-live-src in place. Everything also works
// without this script (forms post, pages reload).
(() => {
  "use strict";
  const body = document.body;
  const source = body.dataset.events;
  if (!source || !window.EventSource) return;

  let refreshing = null;
  async function refresh() {
    for (const part of document.querySelectorAll("[data-live-src]")) {
      const response = await fetch(part.dataset.liveSrc, { credentials: "same-origin" });
      if (response.redirected) {
        // Signed out meanwhile: the server sent us to the sign-in page.
        window.location.assign(response.url);
        return;
      }
      if (response.ok) part.innerHTML = await response.text();
    }
  }
  // Coalesces bursts of events into one refresh at a time.
  function schedule() {
    if (refreshing) {
      refreshing.again = true;
      return;
    }
    refreshing = { again: false };
    refresh().finally(() => {
      const again = refreshing.again;
      refreshing = null;
      if (again) schedule();
    });
  }

  const events = new EventSource(source);
  let opened = false;
  events.addEventListener("open", () => {
    // After a reconnect, catch up on anything missed meanwhile.
    if (opened) schedule();
    opened = true;
    body.dataset.live = "on";
  });
  events.addEventListener("error", () => { body.dataset.live = "off"; });
  events.addEventListener("devices", schedule);
  // Newer pages took this one's place. Reconnecting would only push out
  // another page, so stop and say why; a reload listens again.
  events.addEventListener("replaced", (event) => {
    events.close();
    body.dataset.live = "replaced";
    const notice = document.createElement("div");
    notice.className = "notice";
    notice.id = "live-replaced";
    notice.setAttribute("role", "status");
    notice.textContent = (event.data === "account"
      ? "Too many devices and pages are connected to this account"
      : "This account is open in too many tabs of this browser")
      + ", so this page no longer updates by itself. Reload it to catch up.";
    const main = document.getElementById("main");
    if (main) main.prepend(notice);
  });
  events.addEventListener("signed_out", (event) => {
    events.close();
    window.location.assign("/account/sign-in?notice=signed_out_" + encodeURIComponent(event.data));
  });
})();
