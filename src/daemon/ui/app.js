// Conductor's dashboard: polls the API every 2 s and draws what it says.
// Users' text (job names, users) only ever goes in as textContent.
"use strict";

const POLL_MS = 2000;
const TOKEN_KEY = "conductor-token";

// A token from the URL fragment (`/ui#token=...`) is kept for this tab in
// sessionStorage and taken out of the address bar.
(function takeToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
})();

let asked = false;

async function api(path) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  const reply = await fetch(path, { headers, cache: "no-store" });
  if (reply.status === 401 && !asked) {
    asked = true;
    const given = window.prompt("This listener needs a token (ccontrol token):");
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given.trim());
      asked = false;
      return api(path);
    }
  }
  if (!reply.ok) throw new Error(path + ": " + reply.status);
  return reply.json();
}

function text(id, value) {
  document.getElementById(id).textContent = value;
}

function bar(id, used, total) {
  const share = total > 0 ? Math.min(100, (100 * used) / total) : 0;
  document.getElementById(id).style.width = share.toFixed(1) + "%";
}

function memory(mb) {
  return mb >= 1024 ? (mb / 1024).toFixed(1) + " GiB" : mb + " MiB";
}

function exitCode(code) {
  if (code === null || code === undefined) return "";
  if (typeof code === "object") return code.code + ":" + code.signal;
  return String(code);
}

function reason(job) {
  const r = job.reason;
  if (r === null || r === undefined || r === "None") return "";
  return typeof r === "object" ? JSON.stringify(r) : String(r);
}

function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString();
}

// Replaces a table's rows, each cell's text set as text.
function fill(tableId, rows, empty) {
  const body = document.querySelector("#" + tableId + " tbody");
  const fresh = document.createElement("tbody");
  if (rows.length === 0) {
    const tr = fresh.insertRow();
    const td = tr.insertCell();
    td.colSpan = 6;
    td.className = "empty";
    td.textContent = empty;
  }
  for (const row of rows) {
    const tr = fresh.insertRow();
    tr.dataset.job = row.id;
    for (const [value, cls] of row.cells) {
      const td = tr.insertCell();
      td.textContent = value;
      if (cls) td.className = cls;
    }
  }
  body.replaceWith(fresh);
}

function drawNode(node) {
  text("node-name", node.name);
  const cpus = node.cpus_total - node.cpus_free;
  const mem = node.memory_mb_total - node.memory_mb_free;
  const gpus = node.gpus_total - node.gpus_free;
  bar("cpu-bar", cpus, node.cpus_total);
  bar("mem-bar", mem, node.memory_mb_total);
  bar("gpu-bar", gpus, node.gpus_total);
  text("cpus", cpus + " / " + node.cpus_total);
  text("memory", memory(mem) + " / " + memory(node.memory_mb_total));
  text("gpus", node.gpus_total > 0 ? gpus + " / " + node.gpus_total : "none");
}

function drawQueue(jobs) {
  const order = { RUNNING: 0, PENDING: 1 };
  jobs.sort((a, b) => (order[a.state] ?? 2) - (order[b.state] ?? 2) || a.job_id - b.job_id);
  text("queue-count", "(" + jobs.length + ")");
  fill(
    "queue",
    jobs.map((job) => ({
      id: job.job_id,
      cells: [
        [String(job.job_id)],
        [job.name, "name"],
        [job.user],
        [job.state, "state state-" + job.state],
        [reason(job)],
        [String(job.cpus)],
      ],
    })),
    "no jobs pending or running",
  );
}

function drawRecent(recent) {
  fill(
    "recent",
    recent.map((job) => ({
      id: job.job_id,
      cells: [
        [String(job.job_id)],
        [job.name, "name"],
        [job.user],
        [job.state, "state state-" + job.state],
        [exitCode(job.exit_code)],
        [when(job.end_time)],
      ],
    })),
    "no jobs ended yet",
  );
}

// The SVG namespace: a name, not an address fetched.
const SVG = "http://www.w3.org/2000/svg";

function drawChart(activity) {
  const svg = document.getElementById("chart");
  const counts = activity.ended;
  const most = Math.max(1, ...counts);
  const width = 360 / counts.length;
  while (svg.firstChild) svg.firstChild.remove();
  counts.forEach((count, i) => {
    const height = (74 * count) / most;
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", (i * width + 2).toFixed(1));
    rect.setAttribute("y", (88 - height).toFixed(1));
    rect.setAttribute("width", (width - 4).toFixed(1));
    rect.setAttribute("height", Math.max(height, count > 0 ? 1 : 0).toFixed(1));
    const title = document.createElementNS(SVG, "title");
    const start = new Date(Date.parse(activity.since) + i * activity.bucket_seconds * 1000);
    title.textContent = count + " ended from " + start.toLocaleTimeString();
    rect.appendChild(title);
    svg.appendChild(rect);
    if (count > 0) {
      const label = document.createElementNS(SVG, "text");
      label.setAttribute("x", (i * width + width / 2).toFixed(1));
      label.setAttribute("y", (86 - height).toFixed(1));
      label.setAttribute("text-anchor", "middle");
      label.textContent = String(count);
      svg.appendChild(label);
    }
  });
  const axis = document.createElementNS(SVG, "text");
  axis.setAttribute("x", "0");
  axis.setAttribute("y", "99");
  axis.textContent = "−60 min";
  svg.appendChild(axis);
  const now = document.createElementNS(SVG, "text");
  now.setAttribute("x", "360");
  now.setAttribute("y", "99");
  now.setAttribute("text-anchor", "end");
  now.textContent = "now";
  svg.appendChild(now);
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [node, jobs, activity] = await Promise.all([
      api("/v1/node"),
      api("/v1/jobs?states=PENDING,RUNNING"),
      api("/v1/ui/activity"),
    ]);
    drawNode(node);
    drawQueue(Array.isArray(jobs) ? jobs : jobs.jobs || []);
    drawRecent(activity.recent);
    drawChart(activity);
    status.textContent = "updated " + new Date().toLocaleTimeString();
    status.className = "status";
  } catch (error) {
    status.textContent = "no answer: " + error.message;
    status.className = "status error";
  } finally {
    setTimeout(refresh, POLL_MS);
  }
}

document.addEventListener("DOMContentLoaded", refresh);
