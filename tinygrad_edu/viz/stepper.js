// The backward pass, one gradient per step, on a graph drawn once (stepper.py writes the page).
// The page defines, before this script:
//   steps: one entry per step: {node: the DOT id of the node it fills, lines: the chain rule with its numbers,
//          edges: the DOT ids of the edges its gradient came back along}
//   colours: {highlight, edge}: the style's colours for the step's node and edges, and for the other edges.
const slider = document.getElementById("slider"), formula = document.getElementById("formula");
const groups = {}, edges = {};
document.querySelectorAll("#graph g.node").forEach(g => {
  const title = g.querySelector("title").textContent, cell = {};
  let fill = null;  // the grad cell's background comes just before its text
  g.querySelectorAll("polygon, text").forEach(el => {
    if (el.tagName === "text") {
      if (el.textContent.startsWith("grad")) { cell.text = el; cell.value = el.textContent; cell.fill = fill;
                                               cell.colour = fill && fill.getAttribute("fill"); }
      fill = null;
    } else if (el.getAttribute("stroke") === "none") { fill = el; }
    else { cell.outline = cell.outline || el; }
  });
  groups[title] = cell;
});
document.querySelectorAll("#graph g.edge").forEach(g => {
  edges[g.querySelector("title").textContent] = g.querySelectorAll("path, polygon");
});
const order = {};
steps.forEach((s, i) => { order[s.node] = i; });
let timer = null;

// Show step k (1 to steps.length): the gradients filled so far, the k-th node outlined, its edges lit.
function show(k) {
  k = Math.max(1, Math.min(steps.length, k));
  slider.value = k;
  for (const [id, cell] of Object.entries(groups)) {
    if (!cell.text) continue;
    const filled = id in order && order[id] < k;
    cell.text.textContent = filled ? cell.value : "grad ?";
    if (cell.fill) cell.fill.setAttribute("fill", filled ? cell.colour : "#ffffff");
    if (cell.outline) { cell.outline.setAttribute("stroke", id === steps[k - 1].node ? colours.highlight : "black");
                        cell.outline.setAttribute("stroke-width", id === steps[k - 1].node ? "4" : "1"); }
  }
  for (const [name, parts] of Object.entries(edges)) {
    const on = steps[k - 1].edges.includes(name);
    parts.forEach(p => { p.setAttribute("stroke", on ? colours.highlight : colours.edge);
                         p.setAttribute("stroke-width", on ? "3" : "1");
                         if (p.tagName === "polygon") p.setAttribute("fill", on ? colours.highlight : colours.edge); });
  }
  formula.innerHTML = "";
  steps[k - 1].lines.forEach(line => { const d = document.createElement("div"); d.textContent = line;
                                       formula.appendChild(d); });
  document.getElementById("counter").textContent = "step " + k + " of " + steps.length;
}

function play() {
  const button = document.getElementById("play");
  if (timer) { clearInterval(timer); timer = null; button.innerHTML = "&#x25B6; Play"; return; }
  if (+slider.value >= steps.length) show(1);
  button.innerHTML = "&#x2016; Pause";
  timer = setInterval(() => { if (+slider.value >= steps.length) play(); else show(+slider.value + 1); }, 1200);
}

document.getElementById("home").onclick = () => show(1);
document.getElementById("prev").onclick = () => show(+slider.value - 1);
document.getElementById("next").onclick = () => show(+slider.value + 1);
document.getElementById("end").onclick = () => show(steps.length);
document.getElementById("play").onclick = play;
slider.oninput = () => show(+slider.value);
document.onkeydown = (e) => {
  if (e.key === "ArrowRight") show(+slider.value + 1);
  else if (e.key === "ArrowLeft") show(+slider.value - 1);
  else if (e.key === "Home") show(1);
  else if (e.key === "End") show(steps.length);
  else if (e.key === " ") { e.preventDefault(); play(); }
};
show(1);
