// memories: progress of render jobs, and a confirmation before a merge. No libraries.
(function () {
  "use strict";
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const pollMs = Number(document.body.dataset.pollMs || 500);

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
      text.textContent = job.state === "running" ? Math.round(job.progress * 100) + " %" : job.state;
      box.dataset.state = job.state;
      if (job.state === "running") { setTimeout(tick, pollMs); }
      else if (job.state === "done") { window.location.assign("/memories"); }
      else { text.textContent = "failed: " + (job.error || "unknown error"); }
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
      const box = form.parentElement.querySelector(".job");
      if (!reply.ok) { box.hidden = false; box.querySelector(".job-text").textContent = job.error; return; }
      box.dataset.jobId = job.id;
      watch(box);
    });
  });

  document.querySelectorAll("form.merge").forEach((form) => {
    form.addEventListener("submit", (event) => {
      const select = form.querySelector("select");
      const who = select.options[select.selectedIndex].text;
      const name = document.getElementById("person-name").textContent;
      if (!window.confirm("Merge " + who + " into " + name + "? They become one person.")) event.preventDefault();
    });
  });
})();
