// The format editor's niceties: move sections up and down, add one in place, dim removed ones. Without
// JavaScript the form works the same way with its position numbers, "Remove" boxes and "Add a section" button.
"use strict";

(function () {
  const form = document.querySelector("[data-format-editor]");
  const list = document.getElementById("section-rows");
  const template = document.getElementById("section-row-template");
  if (!form || !list || !template || !("content" in template)) return;
  const prefix = "sections";
  const total = form.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
  const max = form.querySelector(`input[name="${prefix}-MAX_NUM_FORMS"]`);
  const addButton = document.getElementById("add-section");
  if (!total) return;

  const status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("aria-live", "polite");
  form.appendChild(status);
  form.classList.add("js-enhanced");

  function rows() {
    return Array.from(list.querySelectorAll("[data-section-row]"));
  }

  function headingOf(row) {
    const input = row.querySelector('input[name$="-heading"]');
    return (input && input.value.trim()) || "untitled section";
  }

  function renumber() {
    rows().forEach(function (row, index) {
      const order = row.querySelector('input[name$="-ORDER"]');
      if (order) order.value = String(index + 1);
      const title = row.querySelector(".section-row-title");
      if (title) title.textContent = `Section ${index + 1}`;
      const up = row.querySelector("[data-move=up]");
      const down = row.querySelector("[data-move=down]");
      if (up) {
        up.disabled = index === 0;
        up.setAttribute("aria-label", `Move section ${index + 1} up`);
      }
      if (down) {
        down.disabled = index === rows().length - 1;
        down.setAttribute("aria-label", `Move section ${index + 1} down`);
      }
    });
    if (addButton && max) addButton.disabled = Number(total.value) >= Number(max.value);
  }

  function move(row, direction) {
    const sibling = direction === "up" ? row.previousElementSibling : row.nextElementSibling;
    if (!sibling) return;
    if (direction === "up") list.insertBefore(row, sibling);
    else list.insertBefore(sibling, row);
    renumber();
    const button = row.querySelector(`[data-move=${direction}]`);
    const position = rows().indexOf(row) + 1;
    status.textContent = `“${headingOf(row)}” is now section ${position}.`;
    if (button && !button.disabled) button.focus();
    else (row.querySelector(`[data-move=${direction === "up" ? "down" : "up"}]`) || row).focus();
  }

  function enhance(row) {
    const tools = row.querySelector("[data-section-tools]");
    if (tools && !tools.childElementCount) {
      ["up", "down"].forEach(function (direction) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "secondary small";
        button.dataset.move = direction;
        button.textContent = direction === "up" ? "Move up" : "Move down";
        button.addEventListener("click", function () {
          move(row, direction);
        });
        tools.appendChild(button);
      });
    }
    const remove = row.querySelector('input[name$="-DELETE"]');
    if (remove) {
      const mark = function () {
        row.classList.toggle("is-removed", remove.checked);
      };
      remove.addEventListener("change", mark);
      mark();
    }
  }

  if (addButton) {
    addButton.addEventListener("click", function (event) {
      const index = Number(total.value);
      if (max && index >= Number(max.value)) return;
      event.preventDefault();
      const fragment = template.content.cloneNode(true);
      fragment.querySelectorAll("[id], [for], [name], [aria-describedby]").forEach(function (element) {
        ["id", "for", "name", "aria-describedby"].forEach(function (attribute) {
          const value = element.getAttribute(attribute);
          if (value) element.setAttribute(attribute, value.split("__prefix__").join(String(index)));
        });
      });
      const row = fragment.querySelector("[data-section-row]");
      list.appendChild(fragment);
      total.value = String(index + 1);
      enhance(row);
      renumber();
      const heading = row.querySelector('input[name$="-heading"]');
      if (heading) heading.focus();
      status.textContent = `Section ${rows().length} added.`;
    });
  }

  rows().forEach(enhance);
  renumber();
})();
