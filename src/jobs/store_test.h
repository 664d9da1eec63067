// The JobStore conformance suite's fixture and test helpers. The tests themselves are in
// store_test.cc; each backend runs them by instantiating JobStoreTest with its StoreFactory in its
// own test file (see sqlite_store_test.cc), linking store_test.cc into its test binary.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobs/store.h"
#include "sys/fs.h"

namespace warden::jobs {

MATCHER(IsOk, "is OK") {
  if (!arg.ok()) {
    *result_listener << arg.error().ToString();
  }
  return arg.ok();
}

MATCHER_P(IsError, code, "fails with " + std::string(ErrorCodeName(code))) {
  if (arg.ok()) {
    *result_listener << "succeeded";
    return false;
  }
  *result_listener << arg.error().ToString();
  return arg.error().code() == code;
}

// A FinishRequest without a worker check.
FinishRequest Outcome(JobState state, std::string reason, std::string summary = "",
                      json::object result = {});

// How a backend makes a fresh, empty store for one test. `scratch_dir` is the test's own temporary
// directory, removed after it.
struct StoreFactory {
  std::string name;
  std::function<Result<std::unique_ptr<JobStore>>(const std::string& scratch_dir,
                                                  const StoreOptions& options)>
      open;
};

// For INSTANTIATE_TEST_SUITE_P: names each instance after its backend.
std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& param_info);

inline constexpr int64_t kStartMs = 1'700'000'000'000;

// A fresh store per test, on a fake clock that starts at kStartMs and moves only by Advance.
class JobStoreTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  // (Re)creates the store with `options`, the fake clock and a workspace root in the scratch dir.
  void Open(StoreOptions options);

  JobStore& store() { return *store_; }
  void Advance(int64_t ms) { now_ms_ += ms; }
  int64_t Now() const { return now_ms_.load(); }
  std::string Workspace(const std::string& id) const { return dir_->path() + "/work/" + id; }

  static NewJob Task(std::string owner, std::string task);
  // These record a test failure, and return an empty value, when the store fails.
  Job MustCreate(std::string owner = "", std::string task = "do it");
  Job MustClaim(std::string_view worker = "w1");
  Job MustFinish(const std::string& id, JobState state, std::string summary = "done");
  std::vector<Event> AllEvents(const std::string& id);
  std::vector<std::string> ListIds(const JobFilter& filter);

 private:
  std::unique_ptr<sys::TempDir> dir_;
  std::atomic<int64_t> now_ms_{kStartMs};
  std::unique_ptr<JobStore> store_;
};

// Tests of what a store for one server does and a shared one must not (RecoverAfterCrash ends
// every running job): instantiated by the SQLite backend only.
class SingleNodeStoreTest : public JobStoreTest {};
// Tests of what a store shared by many nodes does instead: instantiated by PostgreSQL.
class SharedStoreTest : public JobStoreTest {};

}  // namespace warden::jobs
