// The typed job: what a client submits (a task or explicit steps, and options), parsed and checked
// once — by the API when the job comes in, and again by the worker from the stored input — into
// one value with every limit resolved against the server's bounds.
//
//   ASSIGN_OR_RETURN(JobSpec spec, ParseJobSpec(body, bounds));
//   // spec.kind, spec.steps, spec.action_limits, spec.timeout, spec.disk_bytes, ...
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/policy.h"
#include "base/json.h"
#include "base/result.h"
#include "jobs/egress_bound.h"
#include "jobs/input_files.h"
#include "jobs/job.h"
#include "sandbox/sandbox.h"

namespace warden::jobs {

// What a server lets a job have: the default of each limit, and the most a job may ask for.
// Shared by the API (which refuses a job outside them at once) and the workers.
struct JobBounds {
  // Each action's sandbox limits, unless the job's options say otherwise.
  sandbox::Limits action;
  std::chrono::milliseconds max_action_time{10 * 60 * 1000};
  uint64_t max_memory_bytes = 4ULL << 30;
  // The whole job: its default and its ceiling.
  std::chrono::milliseconds job_timeout{30 * 60 * 1000};
  // Bytes a job's workspace may hold, across all its actions: default and ceiling.
  uint64_t job_disk_bytes = 1ULL << 30;
  // Bytes of output a job may store (stdout + stderr of all its actions): default and ceiling.
  uint64_t job_output_bytes = 16ULL << 20;
  // Explicit steps in one job, and the agent's turns (max_steps) at most.
  size_t max_steps = 1000;
  bool allow_network = false;  // may a job ask for "network": "host"?
  // What a job may ask for with "network": {"allow": [...]} (the egress proxy).
  EgressBound egress = DefaultEgressBound();
  // When a task job's actions wait for approval unless it asks otherwise: as in `warden run`.
  agent::ApprovalMode approve = agent::ApprovalMode::kRisky;
};

struct Step {
  enum class Kind { kShell, kPython, kWriteFile };
  Kind kind = Kind::kShell;
  std::string code;  // kShell: the command; kPython: the program; kWriteFile: the content
  std::string path;  // kWriteFile: where, relative to the workspace
};

// A job as it will run: its own options, else the server's defaults, all within the bounds.
struct JobSpec {
  JobKind kind = JobKind::kTask;
  std::string task;         // kTask
  std::vector<Step> steps;  // kSteps
  // Written into the workspace before the first action (input_files.h).
  std::vector<InputFile> files;

  sandbox::Limits action_limits;  // each sandbox run
  std::chrono::milliseconds timeout{0};
  uint64_t disk_bytes = 0;    // the workspace, across all runs
  uint64_t output_bytes = 0;  // output stored, across all runs
  sandbox::NetworkMode network = sandbox::NetworkMode::kNone;
  sandbox::EgressPolicy egress;  // network == kProxy: what its runs may reach

  // kTask only.
  std::string provider;  // "" = the server's
  std::string model;     // "" = the provider's
  int max_steps = 0;     // 0 = the agent's default
  agent::ApprovalMode approve = agent::ApprovalMode::kRisky;

  bool requeue_on_crash = false;
};

// Parses a job's input: {"task": "..."} or {"steps": [...]}, "options" and "files" (input_files.h;
// all of them together at most the job's disk limit). kInvalidArgument with
// a message that names the field and what it may be; kPermissionDenied for what this server does
// not allow (the host's network).
Result<JobSpec> ParseJobSpec(const json::object& input, const JobBounds& bounds);

// The options a job may set, for error messages and documentation.
std::string_view JobOptionNames();

}  // namespace warden::jobs
