#include "api/docs_api.h"

#include <memory>
#include <string>

#include "api/docs_page.h"
#include "base/log.h"

namespace warden::api {

extern const std::string_view kOpenApiJson;  // openapi.json, embedded at build time

std::string_view OpenApiDocument() {
  return kOpenApiJson;
}

void AddDocsRoutes(Router& router) {
  router.AddQuick("GET", "/openapi.json", [](Request&) {
    Response response;
    response.headers.Set("Content-Type", "application/json");
    response.body = std::string(kOpenApiJson);
    return response;
  });
  // Rendered once: the document cannot change while the binary runs.
  boost::system::error_code ec;
  json::value document = json::parse(kOpenApiJson, ec);
  auto page = std::make_shared<const std::string>(
      !ec && document.is_object() ? RenderDocsPage(document.get_object()) : std::string());
  if (page->empty()) {
    LOG_ERROR("the embedded OpenAPI document is not a JSON object: {}", ec.message());
  }
  router.AddQuick("GET", "/docs", [page](Request&) {
    if (page->empty()) {
      return Response::Error(500, "internal", "the API document could not be rendered");
    }
    Response response;
    response.headers.Set("Content-Type", "text/html; charset=utf-8");
    response.body = *page;
    return response;
  });
}

}  // namespace warden::api
