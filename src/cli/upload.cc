// `warden upload SESSION FILE... [--as PATH]`: local files into a session's workspace of `warden
// serve` (PUT /v1/sessions/{id}/files/{path}), where its next messages find them. `warden chat
// --input FILE` uploads the same way.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/commands.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "api/workspace_files.h"

namespace warden::cli {

int UploadFiles(const ServerFlags& flags, const std::string& session,
                const std::vector<std::string>& files, const std::string& as, const char* verb) {
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in || std::filesystem::is_directory(file)) {
      fmt::print(stderr, "warden {}: cannot read {}: {}\n", verb, file,
                 std::filesystem::exists(file) ? "not a readable file" : "no such file");
      return kExitFailed;
    }
    std::string path = as.empty() ? std::filesystem::path(file).filename().string() : as;
    auto reply =
        CallApi(flags, "PUT",
                fmt::format("/v1/sessions/{}/files/{}", session, api::PercentEncodePath(path)),
                content.str());
    if (!reply.ok() || reply->status != 201) {
      return PrintApiFailure(verb, reply);
    }
    const json::object& written = reply->value.as_object();
    if (flags.json) {
      std::printf("%s\n", reply->body.c_str());
    } else {
      fmt::print(stderr, "uploaded {} → {} ({} bytes, sha256 {})\n", file,
                 StringField(written, "path"), written.at("size").to_number<int64_t>(),
                 StringField(written, "sha256"));
    }
  }
  return 0;
}

int Upload(int argc, char** argv) {
  CLI::App app(
      "Upload files into a session's workspace of `warden serve`, where its next messages find\n"
      "them (a file already there is replaced). Refused while one of its messages runs.",
      "warden upload");
  ServerFlags flags;
  AddServerFlags(app, flags);
  std::string session, as;
  std::vector<std::string> files;
  app.add_option("session", session, "The session (s_...)")->required();
  app.add_option("files", files, "Local files; each goes to the top of the workspace")->required();
  app.add_option("--as", as, "Where the file goes in the workspace (data/in.csv); one file only");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (!as.empty() && files.size() != 1) {
    fmt::print(stderr, "warden upload: --as names one file's path; give one file with it\n");
    return kExitUsage;
  }
  return UploadFiles(flags, session, files, as, "upload");
}

}  // namespace warden::cli
