// The review workspace of the session page: a statement of the note (hovered, focused or tapped) lights up the
// transcript segments it cites and scrolls the transcript to them; a segment shows the statements citing it;
// a segment's time plays the recording from there, and the segment being played is marked. Without the script
// the page still links statements and segments both ways.
"use strict";

(function () {
  const root = document.querySelector("[data-review]");
  if (!root) {
    return;
  }
  const transcript = root.querySelector("[data-transcript]");
  const audio = document.getElementById("session-audio");
  const statements = Array.prototype.slice.call(root.querySelectorAll(".statement[data-evidence]"));
  const segments = Array.prototype.slice.call(root.querySelectorAll(".segment[data-segment]"));
  const reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  let playing = null;

  root.querySelectorAll(".player [data-js-only]").forEach(function (element) {
    element.hidden = false;
  });

  function cited(statement) {
    return (statement.getAttribute("data-evidence") || "").split(/\s+/).filter(Boolean);
  }

  function clearMarks() {
    root.querySelectorAll(".is-active, .is-cited, .is-citing").forEach(function (element) {
      element.classList.remove("is-active", "is-cited", "is-citing");
    });
  }

  // Scrolls the transcript's own list, never the page: the clinician keeps their place in the note.
  function scrollTranscriptTo(segment) {
    if (!transcript || !segment || transcript.scrollHeight <= transcript.clientHeight) {
      return;
    }
    const top = Math.max(segment.offsetTop - transcript.clientHeight / 3, 0);
    transcript.scrollTo({ top: top, behavior: reduceMotion ? "auto" : "smooth" });
  }

  function showEvidence(statement) {
    if (statement.classList.contains("is-active")) {
      return;
    }
    clearMarks();
    statement.classList.add("is-active");
    let first = null;
    cited(statement).forEach(function (id) {
      const segment = document.getElementById("segment-" + id);
      if (segment) {
        segment.classList.add("is-cited");
        first = first || segment;
      }
    });
    scrollTranscriptTo(first);
  }

  function showCitations(segment, reveal) {
    clearMarks();
    segment.classList.add("is-active");
    const id = segment.getAttribute("data-segment");
    let first = null;
    statements.forEach(function (statement) {
      if (cited(statement).indexOf(id) !== -1) {
        statement.classList.add("is-citing");
        first = first || statement;
      }
    });
    if (reveal && first && typeof first.scrollIntoView === "function") {
      first.scrollIntoView({ block: "nearest", behavior: reduceMotion ? "auto" : "smooth" });
    }
  }

  statements.forEach(function (statement) {
    statement.addEventListener("mouseenter", function () {
      showEvidence(statement);
    });
    statement.addEventListener("focus", function () {
      showEvidence(statement);
    });
    statement.addEventListener("click", function (event) {
      if (event.target.closest("a")) {
        return;
      }
      showEvidence(statement);
    });
  });

  function playFrom(seconds) {
    if (!audio || !isFinite(seconds)) {
      return;
    }
    audio.currentTime = seconds;
    const started = audio.play();
    if (started && typeof started.catch === "function") {
      // The browser may refuse to play (no audio output, a policy); the position is set either way.
      started.catch(function () {});
    }
  }

  segments.forEach(function (segment) {
    segment.addEventListener("focus", function () {
      showCitations(segment, false);
    });
    segment.addEventListener("click", function (event) {
      const seek = event.target.closest("[data-seek]");
      if (seek) {
        playFrom(parseFloat(seek.getAttribute("data-seek")));
        showCitations(segment, false);
        return;
      }
      if (!event.target.closest("a")) {
        showCitations(segment, true);
      }
    });
    segment.addEventListener("keydown", function (event) {
      if (event.target !== segment || (event.key !== "Enter" && event.key !== " ")) {
        return;
      }
      event.preventDefault();
      playFrom(parseFloat(segment.getAttribute("data-start")));
    });
  });

  if (audio) {
    audio.addEventListener("timeupdate", function () {
      const now = audio.currentTime;
      let current = null;
      for (let index = 0; index < segments.length; index += 1) {
        if (parseFloat(segments[index].getAttribute("data-start")) <= now) {
          current = segments[index];
        } else {
          break;
        }
      }
      if (current !== playing) {
        if (playing) {
          playing.classList.remove("is-playing");
        }
        if (current) {
          current.classList.add("is-playing");
        }
        playing = current;
      }
    });
  }
})();
