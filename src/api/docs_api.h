// GET /openapi.json (the API described in OpenAPI 3) and GET /docs (the same, for humans).
// The document is src/api/openapi.json, embedded into the binary at build time.
#pragma once

#include <string_view>

#include "api/router.h"

namespace warden::api {

// Adds GET /openapi.json (application/json, the document as stored) and GET /docs (text/html,
// rendered from it once, here).
void AddDocsRoutes(Router& router);

// The OpenAPI document, as embedded: valid JSON (docs_test.cc checks it describes every route).
std::string_view OpenApiDocument();

}  // namespace warden::api
