/* High-contrast toggle: a button with aria-pressed; the choice is kept in localStorage. */
(function () {
  var KEY = "practiceweek-contrast";
  var root = document.documentElement;
  function saved() { try { return localStorage.getItem(KEY) === "high"; } catch (e) { return false; } }
  function apply(on) {
    root.classList.toggle("high-contrast", on);
    var buttons = document.querySelectorAll("[data-contrast-toggle]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].setAttribute("aria-pressed", on ? "true" : "false"); }
  }
  apply(saved());
  document.addEventListener("DOMContentLoaded", function () {
    apply(saved());
    var buttons = document.querySelectorAll("[data-contrast-toggle]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function () {
        var on = !root.classList.contains("high-contrast");
        try { localStorage.setItem(KEY, on ? "high" : "normal"); } catch (e) { /* private mode */ }
        apply(on);
      });
    }
  });
})();
