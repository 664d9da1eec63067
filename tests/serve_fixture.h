// The fixture of the `warden serve` end-to-end suites (serve_*_test.cc): a private HOME,
// configuration and data directory, the real server started on them, and helpers that read the
// API's JSON. Header-only.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "serve_util.h"

namespace warden::serve_test {

inline std::string Str(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

inline int64_t Int(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_number() ? value->to_number<int64_t>() : -1;
}

inline json::object Obj(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? value->get_object() : json::object{};
}

inline json::array Arr(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_array() ? value->get_array() : json::array{};
}

inline json::object Shell(std::string command) {
  return {{"shell", std::move(command)}};
}
inline json::object Python(std::string code) {
  return {{"python", std::move(code)}};
}
inline json::object WriteFileStep(std::string path, std::string content) {
  return {{"write_file", json::object{{"path", std::move(path)}, {"content", std::move(content)}}}};
}
inline json::object StepsJob(json::array steps) {
  return {{"steps", std::move(steps)}};
}

// The "state" of each state event, in order.
inline std::vector<std::string> States(const std::vector<json::object>& events) {
  std::vector<std::string> states;
  for (const json::object& event : events) {
    if (Str(event, "type") == "state") {
      states.push_back(Str(Obj(event, "data"), "state"));
    }
  }
  return states;
}

// What the output events of `step` carried on stdout, joined.
inline std::string StdoutOf(const std::vector<json::object>& events, int64_t step) {
  std::string text;
  for (const json::object& event : events) {
    json::object data = Obj(event, "data");
    if (Str(event, "type") == "output" && Int(data, "step") == step &&
        Str(data, "stream") == "stdout") {
      text += Str(data, "text");
    }
  }
  return text;
}

inline std::set<std::string> TypesOf(const std::vector<json::object>& events) {
  std::set<std::string> types;
  for (const json::object& event : events) {
    types.insert(Str(event, "type"));
  }
  return types;
}

// A private HOME, configuration and data directory, and the server started on them.
class ServeTest : public ::testing::Test {
 protected:
  ServeTest() : dir_("warden-serve-test-") {
    std::filesystem::create_directory(dir_ / "home");
    WriteConfig("[llm]\nretry_base_ms = 20\nmax_retries = 1\n");
  }

  void TearDown() override {
    if (server_ != nullptr && server_->pid() > 0) {
      EXPECT_EQ(server_->Stop(), 0) << "warden serve did not exit cleanly on SIGTERM\n"
                                    << server_->Describe();
    }
  }

  void WriteConfig(std::string_view toml) { WriteFile(dir_ / "config.toml", toml); }
  std::string data_dir() const { return dir_ / "data"; }
  const TempDir& dir() const { return dir_; }

  // Starts `warden serve` on the data directory (replacing a server started before), with
  // `extra_env` in its environment; a server that does not come up fails the test (call it inside
  // ASSERT_NO_FATAL_FAILURE).
  void Start(std::vector<std::string> args = {}, const std::vector<std::string>& extra_env = {}) {
    args.insert(args.end(), {"--data-dir", data_dir()});
    std::vector<std::string> env = {"HOME=" + (dir_ / "home"),
                                    "WARDEN_CONFIG=" + (dir_ / "config.toml")};
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    server_ = std::make_unique<ServeProcess>(args, env, dir_ / "serve.log", "127.0.0.1:0",
                                             server_cgroup_procs_fd_);
    ASSERT_NE(server_->port(), 0);
    client_ = std::make_unique<HttpClient>(server_->port());
  }

  ServeProcess& server() { return *server_; }
  HttpClient& client() { return *client_; }

  // Servers started from now on move themselves into the cgroup of this open cgroup.procs file
  // (-1: they stay in the test's cgroup). The caller keeps the descriptor open.
  void set_server_cgroup_procs_fd(int fd) { server_cgroup_procs_fd_ = fd; }

  // POSTs a job; the 201 answer, or an empty object (and a failure).
  json::object Submit(const json::value& body) {
    HttpResponse response = client_->PostJson("/v1/jobs", body);
    EXPECT_EQ(response.status, 201) << response.Describe();
    return response.status == 201 ? response.Json() : json::object{};
  }

  json::object GetJob(const std::string& id) {
    HttpResponse response = client_->Get("/v1/jobs/" + id);
    EXPECT_EQ(response.status, 200) << response.Describe();
    return response.Json();
  }

  // Polls the job until its state is `state`, or final (nothing more will happen); returns it as
  // last seen.
  json::object WaitForState(const std::string& id, std::string_view state,
                            milliseconds timeout = milliseconds(20'000)) {
    Deadline deadline = After(timeout);
    json::object job;
    for (;;) {
      job = GetJob(id);
      std::string now = Str(job, "state");
      if (now == state || now == "succeeded" || now == "failed" || now == "cancelled") {
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ADD_FAILURE() << "job " << id << " is not " << state << " after " << timeout.count()
                      << " ms:\n"
                      << json::serialize(job) << "\n"
                      << server_->Describe();
        break;
      }
      std::this_thread::sleep_for(milliseconds(50));  // nothing to wait on but the API itself
    }
    return job;
  }

  // Every stored event of the job, read page by page.
  std::vector<json::object> Events(const std::string& id) {
    std::vector<json::object> events;
    for (int64_t after = 0;;) {
      HttpResponse response =
          client_->Get(fmt::format("/v1/jobs/{}/events?after={}&limit=1000", id, after));
      EXPECT_EQ(response.status, 200) << response.Describe();
      json::object page = response.Json();
      for (const json::value& event : Arr(page, "events")) {
        events.push_back(event.get_object());
      }
      const json::value* more = page.if_contains("has_more");
      if (response.status != 200 || more == nullptr || !more->is_bool() || !more->get_bool() ||
          Int(page, "next_after") <= after) {
        return events;
      }
      after = Int(page, "next_after");
    }
  }

  // Polls the job's events until one of type `type` whose data holds `text` is stored.
  bool WaitForEvent(const std::string& id, std::string_view type, std::string_view text,
                    milliseconds timeout) {
    for (Deadline deadline = After(timeout); std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(milliseconds(50))) {
      for (const json::object& event : Events(id)) {
        if (Str(event, "type") == type &&
            json::serialize(event.at("data")).find(text) != std::string::npos) {
          return true;
        }
      }
    }
    return false;
  }

  // Saves `archive` and unpacks it with unzip or tar; returns every entry (path -> content;
  // anything but a regular file as "<not a regular file>").
  std::map<std::string, std::string> Unpack(const std::string& archive, std::string_view format) {
    std::string name = fmt::format("unpack-{}", unpacked_++);
    std::string file = dir_ / (name + "." + std::string(format));
    std::string into = dir_ / name;
    std::filesystem::create_directory(into);
    WriteFile(file, archive);
    std::string command = format == "zip" ? fmt::format("unzip -q '{}' -d '{}'", file, into)
                                          : fmt::format("tar xzf '{}' -C '{}'", file, into);
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    std::map<std::string, std::string> entries;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(into)) {
      std::string path = std::filesystem::relative(entry.path(), into).string();
      if (entry.is_symlink() || (!entry.is_regular_file() && !entry.is_directory())) {
        entries[path] = "<not a regular file>";
      } else if (entry.is_regular_file()) {
        entries[path] = ReadFile(entry.path());
      }
    }
    return entries;
  }

 private:
  TempDir dir_;
  std::unique_ptr<ServeProcess> server_;
  std::unique_ptr<HttpClient> client_;
  int unpacked_ = 0;
  int server_cgroup_procs_fd_ = -1;
};

}  // namespace warden::serve_test
