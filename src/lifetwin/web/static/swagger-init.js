// Starts Swagger UI on /api/docs from our own copy (no CDN, no inline script, no validator).
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: box.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
