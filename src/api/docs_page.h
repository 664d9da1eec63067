// The human-readable API reference (GET /docs): an OpenAPI document rendered as one HTML page,
// on the server, with no scripts and no external resources, so it reads offline and without
// JavaScript.
#pragma once

#include <string>

#include "base/json.h"

namespace warden::api {

// The page for `openapi` (an OpenAPI 3 document): its description and authentication, every
// operation by tag (parameters, request body, responses, examples) and every schema, linked to
// each other. Parts the document lacks are left out; a $ref that resolves to nothing is shown as
// its text. Pure: the same document gives the same page.
std::string RenderDocsPage(const json::object& openapi);

}  // namespace warden::api
