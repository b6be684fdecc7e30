// Shows the live weight of the scale the server reads. The weight that
// completes the step is read by the server when the form is sent, never
// taken from this page.
(function () {
  var value = document.getElementById("live-weight");
  var stable = document.getElementById("live-stable");
  var tare = document.getElementById("live-tare");
  if (!value || !stable) return;
  function poll() {
    fetch("/scale", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (d.error) { value.textContent = "—"; stable.textContent = d.error; stable.className = "unstable"; return; }
        value.textContent = d.value + " " + d.unit;
        stable.textContent = d.stable ? "stable" : "unstable";
        stable.className = d.stable ? "stable" : "unstable";
        if (tare && d.tare) tare.textContent = d.tare + " " + d.unit;
      })
      .catch(function () { stable.textContent = "no answer"; stable.className = "unstable"; })
      .finally(function () { setTimeout(poll, 700); });
  }
  poll();
})();
