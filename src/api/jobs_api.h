// The REST API of jobs: submit, list, read, follow (JSON or SSE), cancel, retry, and download
// what a job produced. A thin adapter: every decision is the store's or the workers'.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/router.h"
#include "api/workspace_quota.h"
#include "jobs/job_spec.h"
#include "jobs/llm_availability.h"
#include "jobs/store.h"
#include "jobs/worker.h"

namespace warden::api {

class EventFollowers;  // event_followers.h: one thread that feeds every SSE follower

struct JobsApiOptions {
  // Bodies of POST /v1/jobs above this are refused (the server's own limit also applies).
  size_t max_task_bytes = 1 << 20;
  // What a job may ask for: a job outside them is refused before it is stored.
  jobs::JobBounds bounds;
  // Checked before a job or a retry is stored; null: none.
  WorkspaceQuota* quota = nullptr;
  // Whether a task job can run here (503 llm_unavailable when not; /readyz shows it); null: not
  // checked (a node without workers: the workers' LLM is theirs).
  jobs::LlmAvailability* llm = nullptr;
};

// The answer to a task job this server cannot run for want of an LLM: 400 `code` for an unknown
// provider, else 503 llm_unavailable saying what to configure; nullopt when it can run.
std::optional<Response> RefuseWithoutLlm(jobs::LlmAvailability* llm, const jobs::JobSpec& spec,
                                         std::string_view code);

// The answer to a job spec that does not parse: 400 `code`, or 403 for what the server forbids.
Response SpecRefused(const Error& error, std::string_view code);

class JobsApi {
 public:
  JobsApi(jobs::JobStore& store, jobs::WorkerPool* workers, JobsApiOptions options);
  ~JobsApi();

  // Adds the routes under /v1/jobs, and /healthz, /readyz.
  void AddRoutes(Router& router);

 private:
  Response Submit(Request& request);
  Response List(Request& request);
  Response Get(Request& request);
  // List and Get on an I/O thread: std::nullopt when the store cannot answer without waiting.
  std::optional<Response> QuickList(Request& request);
  std::optional<Response> QuickGet(Request& request);
  Response Events(Request& request);
  Response Logs(Request& request);
  Response Cancel(Request& request);
  Response Retry(Request& request);
  Response Delete(Request& request);
  Response Files(Request& request);
  Response File(Request& request);
  Response Archive(Request& request);
  Response Approvals(Request& request);  // approvals_api.cc
  Response Approve(Request& request);
  // The job named by the path, if the caller may see it.
  Result<jobs::Job> JobOf(const Request& request);

  jobs::JobStore& store_;
  jobs::WorkerPool* workers_;
  JobsApiOptions options_;
  std::unique_ptr<EventFollowers> followers_;
};

// The answer to a job the store would not create: 429 queue_full with Retry-After when the queue
// is full, else the store's error.
Response JobRefused(const Error& error);

// The owner a request acts as: the id of its API key, or "" when the server has no keys.
std::string OwnerOf(const Request& request);

}  // namespace warden::api
