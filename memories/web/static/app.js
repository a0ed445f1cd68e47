// memories: small progressive enhancements; every page works without them. No libraries.
(function () {
  "use strict";
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const pollMs = Number(document.body.dataset.pollMs || 500);

  // --- render jobs: a progress bar, then the page again with the movie -------------------------
  function watch(box) {
    const id = box.dataset.jobId;
    const bar = box.querySelector("progress");
    const text = box.querySelector(".job-text");
    box.hidden = false;
    const tick = async () => {
      let job;
      try {
        const reply = await fetch("/jobs/" + id, { headers: { Accept: "application/json" } });
        job = await reply.json();
      } catch (error) {
        setTimeout(tick, pollMs * 2);
        return;
      }
      if (job.error && !job.state) { text.textContent = job.error; return; }
      bar.value = job.progress;
      const active = job.state === "running" || job.state === "queued";
      text.textContent = job.state === "queued" ? "waiting…" : active ? Math.round(job.progress * 100) + " %" : job.state;
      box.dataset.state = job.state;
      if (active) { setTimeout(tick, pollMs); }
      else if (job.state === "done") { window.location.assign("/memories"); }
      else { text.textContent = "Could not make this movie: " + (job.error || "unknown error"); }
    };
    tick();
  }
  document.querySelectorAll(".job[data-job-id]").forEach(watch);

  document.querySelectorAll("form.make").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      const reply = await fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/json", "X-CSRF-Token": token,
                   "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)),
      });
      const job = await reply.json();
      const box = form.closest(".memory-card").querySelector(".job");
      if (!reply.ok) { box.hidden = false; box.querySelector(".job-text").textContent = job.error; button.disabled = false; return; }
      box.dataset.jobId = job.id;
      watch(box);
    });
  });

  // --- people -----------------------------------------------------------------------------------
  document.querySelectorAll("form.merge").forEach((form) => {
    form.addEventListener("submit", (event) => {
      const who = form.querySelector("input[name=other]").value;
      const name = document.getElementById("person-name").textContent;
      if (!window.confirm("Merge " + who + " into " + name + "? They become one person.")) event.preventDefault();
    });
  });
  document.querySelectorAll(".people-filter select").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  const bulk = document.getElementById("bulk");
  if (bulk) {
    const count = bulk.querySelector(".selected-count");
    const boxes = document.querySelectorAll('input[type=checkbox][form="bulk"]');
    const update = () => {
      const n = Array.from(boxes).filter((b) => b.checked).length;
      count.textContent = n ? n + " selected:" : "Select photos for several at once:";
      bulk.classList.toggle("has-selection", n > 0);
    };
    boxes.forEach((b) => b.addEventListener("change", update));
    update();
  }

  // --- library: the next page as the user scrolls -------------------------------------------------
  const tiles = document.getElementById("tiles");
  if (tiles && "IntersectionObserver" in window) {
    let loading = false;
    const observer = new IntersectionObserver(async (entries) => {
      const more = tiles.querySelector("a.more");
      if (!more || loading || !entries.some((e) => e.isIntersecting)) return;
      loading = true;
      const reply = await fetch(more.dataset.fragment);
      if (reply.ok) {
        const html = await reply.text();
        more.remove();
        tiles.insertAdjacentHTML("beforeend", html);
        const next = tiles.querySelector("a.more");
        if (next) observer.observe(next);
      }
      loading = false;
    }, { rootMargin: "800px" });
    const first = tiles.querySelector("a.more");
    if (first) observer.observe(first);
  }

  // --- photo viewer: arrow keys, swipe, zoom -------------------------------------------------------
  const viewer = document.querySelector(".viewer");
  if (viewer) {
    const go = (id) => { if (id) window.location.assign("/photos/" + id); };
    const zoomable = document.getElementById("zoomable");  // none for a video: it has its own controls
    const frame = document.getElementById("frame");
    const toggleZoom = (x, y) => {
      const zoomed = zoomable.classList.toggle("zoomed");
      if (zoomed) {
        zoomable.style.transformOrigin = x !== undefined ? x + "% " + y + "%" : "50% 50%";
      }
    };
    document.addEventListener("keydown", (event) => {
      // A focused video seeks with the arrow keys itself.
      if (event.target.closest("input, select, textarea, video")) return;
      if (event.key === "ArrowLeft") go(viewer.dataset.before);
      else if (event.key === "ArrowRight") go(viewer.dataset.after);
      else if (zoomable && (event.key === "+" || event.key === "=" || event.key === "-" || event.key === "0")) {
        const wantZoom = event.key === "+" || event.key === "=";
        if (wantZoom !== zoomable.classList.contains("zoomed")) toggleZoom();
      }
    });
    if (zoomable) {
      zoomable.addEventListener("dblclick", (event) => {
        const rect = zoomable.getBoundingClientRect();
        toggleZoom(100 * (event.clientX - rect.left) / rect.width, 100 * (event.clientY - rect.top) / rect.height);
      });
    }
    // A touch that starts on a video's control bar (its bottom) scrubs the video, never swipes.
    const onControls = (event) => {
      const video = event.target.closest("video");
      return video && event.touches[0].clientY > video.getBoundingClientRect().bottom - 64;
    };
    let startX = null, startY = null;
    frame.addEventListener("touchstart", (event) => {
      const zoomed = zoomable && zoomable.classList.contains("zoomed");
      if (event.touches.length !== 1 || zoomed || onControls(event)) { startX = null; return; }
      startX = event.touches[0].clientX; startY = event.touches[0].clientY;
    }, { passive: true });
    frame.addEventListener("touchend", (event) => {
      if (startX === null) return;
      const dx = event.changedTouches[0].clientX - startX;
      const dy = event.changedTouches[0].clientY - startY;
      if (Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy)) go(dx > 0 ? viewer.dataset.before : viewer.dataset.after);
      startX = null;
    }, { passive: true });
  }

  // --- a video: start at ?t=, "seen at 0:03" seeks, say so when the browser cannot play it ----------
  const video = document.getElementById("video");
  if (video) {
    const whenReady = (then) => {
      if (video.readyState >= 1) then();
      else video.addEventListener("loadedmetadata", then, { once: true });
    };
    const seek = (seconds) => whenReady(() => {
      const end = Number.isFinite(video.duration) ? video.duration : seconds;
      if (Math.abs(video.currentTime - seconds) > 0.25) video.currentTime = Math.min(seconds, end);
    });
    const start = Number(video.dataset.start || 0);
    if (start > 0) seek(start);
    const problem = document.getElementById("video-problem");
    video.addEventListener("error", () => { problem.hidden = false; });
    // A codec the browser cannot decode may still load (its sound plays, its picture is 0 x 0).
    whenReady(() => { if (!video.videoWidth) problem.hidden = false; });
    document.querySelectorAll("a[data-seek]").forEach((link) => {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        seek(Number(link.dataset.seek));
        video.play().catch(() => {});  // a browser may refuse to play with sound before a gesture
        video.scrollIntoView({ block: "nearest", behavior: "smooth" });
        history.replaceState(null, "", link.getAttribute("href"));
      });
    });
  }

  // --- a Live Photo: the motion plays over the still on LIVE (press, hover) and once on load --------
  const motion = document.getElementById("motion");
  const live = document.getElementById("live");
  if (motion && live) {
    const still = motion.closest(".zoomable");
    let broken = false;
    const play = () => {
      if (broken || !motion.paused) return;
      motion.currentTime = 0;
      motion.play().catch(() => {});
    };
    const shown = (moving) => {
      still.classList.toggle("moving", moving);
      live.setAttribute("aria-pressed", moving ? "true" : "false");
    };
    motion.addEventListener("playing", () => shown(true));
    motion.addEventListener("ended", () => shown(false));
    motion.addEventListener("pause", () => shown(false));
    motion.addEventListener("error", () => { broken = true; shown(false); });  // LIVE opens the file instead
    live.addEventListener("pointerdown", play);
    live.addEventListener("mouseenter", play);
    live.addEventListener("click", (event) => { if (!broken) { event.preventDefault(); play(); } });
    live.addEventListener("keydown", (event) => { if (event.key === " ") { event.preventDefault(); play(); } });
    // On a phone, pressing and holding the photo plays it too (as the Photos app does).
    let hold = null;
    still.addEventListener("pointerdown", (event) => { if (event.pointerType === "touch") hold = setTimeout(play, 350); });
    ["pointerup", "pointercancel", "pointerleave"].forEach((type) => still.addEventListener(type, () => clearTimeout(hold)));
    if (!window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      if (motion.readyState >= 3) play();
      else motion.addEventListener("canplay", play, { once: true });
    }
  }

  // --- search: suggestions as you type --------------------------------------------------------------
  document.querySelectorAll("input[data-suggest]").forEach((input) => {
    const list = document.getElementById(input.getAttribute("list"));
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const parts = input.value.split(",");
        const typed = parts[parts.length - 1].trim();
        if (!typed) { list.replaceChildren(); return; }
        const reply = await fetch("/suggest?q=" + encodeURIComponent(typed), { headers: { Accept: "application/json" } });
        if (!reply.ok) return;
        const found = await reply.json();
        const names = input.dataset.suggest === "places" ? found.places : found.people;
        const head = parts.slice(0, -1).map((p) => p.trim()).filter(Boolean);
        list.replaceChildren(...names.map((name) => {
          const option = document.createElement("option");
          option.value = input.dataset.suggest === "places" ? name : head.concat([name]).join(", ");
          return option;
        }));
      }, 120);
    });
  });
})();
