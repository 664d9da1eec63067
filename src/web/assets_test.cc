#include "web/assets.h"

#include <gtest/gtest.h>

#include "api/auth.h"
#include "base/config.h"

namespace warden::web {
namespace {

api::Request Get(std::string path, std::string accept_encoding = "gzip, deflate, br") {
  api::Request request;
  request.method = "GET";
  request.path = path;
  request.raw_target = path;
  if (!accept_encoding.empty()) {
    request.headers.Set("Accept-Encoding", std::move(accept_encoding));
  }
  return request;
}

api::Response Route(const std::string& path, std::string accept_encoding = "gzip") {
  static const Assets assets;
  static const api::Router router = [] {
    api::Router r;
    assets.AddRoutes(r);
    return r;
  }();
  api::Request request = Get(path, std::move(accept_encoding));
  return router.Handle(request);
}

TEST(AssetsTest, ThePageShellIsServedAtTheRootAndAtDeepLinks) {
  for (const char* path : {"/", "/new", "/jobs/j_123", "/sessions", "/sessions/s_1", "/server"}) {
    api::Response response = Route(path);
    EXPECT_EQ(response.status, 200) << path;
    EXPECT_EQ(response.headers.Get("Content-Type"), "text/html; charset=utf-8") << path;
    EXPECT_NE(response.headers.Get("Content-Security-Policy").find("default-src 'self'"),
              std::string_view::npos);
  }
}

TEST(AssetsTest, AClientThatAcceptsGzipGetsTheCompressedBytesAndOthersThePlainOnes) {
  api::Response gzipped = Route("/assets/app.js", "gzip");
  EXPECT_EQ(gzipped.headers.Get("Content-Encoding"), "gzip");
  ASSERT_GE(gzipped.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gzipped.body[0]), 0x1f);  // gzip's magic number
  EXPECT_EQ(static_cast<unsigned char>(gzipped.body[1]), 0x8b);
  api::Response plain = Route("/assets/app.js", "");
  EXPECT_FALSE(plain.headers.Has("Content-Encoding"));
  EXPECT_NE(plain.body.find("import"), std::string::npos);
  EXPECT_EQ(plain.headers.Get("Content-Type"), "text/javascript; charset=utf-8");
  api::Response refused = Route("/assets/app.js", "gzip;q=0");
  EXPECT_FALSE(refused.headers.Has("Content-Encoding"));
}

TEST(AssetsTest, ARequestNamingTheCurrentEtagGetsNotModified) {
  api::Response first = Route("/assets/style.css");
  std::string etag(first.headers.Get("ETag"));
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(first.headers.Get("Cache-Control"), "no-cache");
  static const Assets assets;
  api::Request again = Get("/assets/style.css");
  again.headers.Set("If-None-Match", etag);
  api::Response revalidated = assets.Serve(again, "style.css");
  EXPECT_EQ(revalidated.status, 304);
  EXPECT_TRUE(revalidated.body.empty());
  again.headers.Set("If-None-Match", "\"something-else\"");
  EXPECT_EQ(assets.Serve(again, "style.css").status, 200);
}

TEST(AssetsTest, AnUnknownAssetIsNotFound) {
  api::Response response = Route("/assets/nothing.js");
  EXPECT_EQ(response.status, 404);
  EXPECT_NE(response.body.find("nothing.js"), std::string::npos);
}

TEST(AssetsTest, TheWholeDashboardWeighsAtMostOneHundredKilobytesCompressed) {
  size_t total = 0;
  for (const EmbeddedAsset& asset : EmbeddedAssets()) {
    total += asset.gzip.size();
    EXPECT_LT(asset.gzip.size(), asset.raw.size()) << asset.name;
  }
  EXPECT_LE(total, 100u * 1024u);
}

TEST(AssetsTest, OnlyDashboardPathsAreLetThroughWithoutAKey) {
  EXPECT_TRUE(IsDashboardPath("/"));
  EXPECT_TRUE(IsDashboardPath("/jobs/j_1"));
  EXPECT_TRUE(IsDashboardPath("/assets/app.js"));
  EXPECT_TRUE(IsDashboardPath("/v1/live"));
  EXPECT_TRUE(IsDashboardPath("/server"));
  EXPECT_FALSE(IsDashboardPath("/jobs/j_1/files"));
  EXPECT_FALSE(IsDashboardPath("/v1/jobs"));
  EXPECT_FALSE(IsDashboardPath("/v1/jobs/j_1"));
  EXPECT_FALSE(IsDashboardPath("/assets/"));

  auto config = Config::Parse("", "test");
  ASSERT_TRUE(config.ok());
  auto auth = api::Auth::Create(*config, "alice:0123456789abcdef0123");
  ASSERT_TRUE(auth.ok()) << auth.error().message();
  api::Handler handler =
      (*auth)->Wrap([](api::Request&) { return api::Response::Text(200, "in"); }, IsDashboardPath);
  api::Request page = Get("/jobs/j_1");
  EXPECT_EQ(handler(page).status, 200);
  api::Request data = Get("/v1/jobs");
  EXPECT_EQ(handler(data).status, 401);
  EXPECT_EQ((*auth)->OwnerOfKey("0123456789abcdef0123"), "alice");
  EXPECT_EQ((*auth)->OwnerOfKey("0123456789abcdef0124"), std::nullopt);
}

}  // namespace
}  // namespace warden::web
