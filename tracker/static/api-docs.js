// The API docs page (/api/v1/docs): Swagger UI over the app's own OpenAPI document.
// A file, not an inline script: the CSP allows scripts from this origin only.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    // no badge from the public validator: nothing is fetched from outside
    validatorUrl: null,
    deepLinking: true,
  });
})();
