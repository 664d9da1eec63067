#include "web/assets.h"

#include <strings.h>

#include <array>

#include "base/sha256.h"

namespace warden::web {
namespace {

// What the page may load: its own files, images made from downloaded blobs, the live WebSocket
// back to this server; nothing inline, nothing from another host, never framed.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' blob:; connect-src 'self'; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

std::string ContentTypeOf(std::string_view name) {
  constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
  }};
  for (const auto& [suffix, type] : kTypes) {
    if (name.ends_with(suffix)) {
      return std::string(type);
    }
  }
  return "application/octet-stream";
}

// Whether Accept-Encoding allows gzip: "gzip" or "*" listed without q=0.
bool AcceptsGzip(std::string_view accept) {
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    size_t semicolon = item.find(';');
    std::string_view coding = item.substr(0, semicolon);
    while (!coding.empty() && coding.back() == ' ') {
      coding.remove_suffix(1);
    }
    bool refused = semicolon != std::string_view::npos &&
                   item.substr(semicolon).find("q=0") != std::string_view::npos &&
                   item.substr(semicolon).find_first_of("123456789") == std::string_view::npos;
    if ((strncasecmp(coding.data(), "gzip", 4) == 0 && coding.size() == 4) || coding == "*") {
      return !refused;
    }
  }
  return false;
}

// If-None-Match holds `etag` (or is "*"): a comma-separated list of entity tags.
bool Matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.find('*') != std::string_view::npos) {
    return true;
  }
  return if_none_match.find(etag) != std::string_view::npos;
}

}  // namespace

bool IsDashboardPath(std::string_view path) {
  if (path == "/" || path == "/new" || path == "/sessions" || path == "/server" ||
      path == "/v1/live") {
    return true;
  }
  for (std::string_view prefix : {"/assets/", "/jobs/", "/sessions/"}) {
    if (path.starts_with(prefix) && path.size() > prefix.size() &&
        path.find('/', prefix.size()) == std::string_view::npos) {
      return true;
    }
  }
  return false;
}

Assets::Assets(const std::vector<EmbeddedAsset>& assets) {
  for (const EmbeddedAsset& asset : assets) {
    // A strong validator: the first 128 bits of the file's SHA-256.
    std::string etag = "\"" + Sha256Hex(asset.raw).substr(0, 32) + "\"";
    entries_.push_back({asset, ContentTypeOf(asset.name), std::move(etag)});
  }
}

void Assets::AddRoutes(api::Router& router) const {
  auto shell = [this](api::Request& request) {
    return Serve(request, "index.html");
  };
  router.AddQuick("GET", "/", shell);
  router.AddQuick("GET", "/new", shell);
  router.AddQuick("GET", "/sessions", shell);
  router.AddQuick("GET", "/server", shell);
  router.AddQuick("GET", "/jobs/{id}", shell);
  router.AddQuick("GET", "/sessions/{id}", shell);
  router.AddQuick("GET", "/assets/{name}", [this](api::Request& request) {
    return Serve(request, request.params.at("name"));
  });
}

api::Response Assets::Serve(const api::Request& request, std::string_view name) const {
  const Entry* found = nullptr;
  for (const Entry& entry : entries_) {
    if (entry.asset.name == name) {
      found = &entry;
    }
  }
  if (found == nullptr) {
    return api::Response::Error(404, "not_found",
                                "no dashboard file named \"" + std::string(name) + "\"");
  }
  api::Response response;
  response.headers.Set("ETag", found->etag);
  // Always revalidated (the names carry no version), at the cost of one 304.
  response.headers.Set("Cache-Control", "no-cache");
  response.headers.Set("Vary", "Accept-Encoding");
  response.headers.Set("X-Content-Type-Options", "nosniff");
  if (name == "index.html") {
    response.headers.Set("Content-Security-Policy", std::string(kContentSecurityPolicy));
    response.headers.Set("Referrer-Policy", "no-referrer");
  }
  if (Matches(request.headers.Get("If-None-Match"), found->etag)) {
    response.status = 304;
    return response;
  }
  response.headers.Set("Content-Type", found->content_type);
  if (AcceptsGzip(request.headers.Get("Accept-Encoding"))) {
    response.headers.Set("Content-Encoding", "gzip");
    response.body = std::string(found->asset.gzip);
  } else {
    response.body = std::string(found->asset.raw);
  }
  return response;
}

}  // namespace warden::web
