#include "jobs/job_spec.h"

#include <fmt/format.h>

#include "jobs/limits.h"

namespace warden::jobs {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMinJobTime{1000};
constexpr uint64_t kMinJobOutputBytes = 1024;

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

Result<std::string_view> StringOption(std::string_view key, const json::value& value,
                                      std::string_view what) {
  if (!value.is_string()) {
    return Invalid(fmt::format("options.{} must be {}", key, what));
  }
  return std::string_view{value.get_string()};
}

// Each option: checked, and applied to `spec` within `bounds`.
Status ApplyOption(std::string_view key, const json::value& value, const JobBounds& bounds,
                   JobSpec& spec) {
  std::string name = fmt::format("options.{}", key);
  if (key == "timeout") {
    ASSIGN_OR_RETURN(std::string_view text, StringOption(key, value, "a duration such as \"10m\""));
    ASSIGN_OR_RETURN(spec.timeout, ParseDurationIn(name, text, kMinJobTime, bounds.job_timeout));
  } else if (key == "action_timeout") {
    ASSIGN_OR_RETURN(std::string_view text, StringOption(key, value, "a duration such as \"90s\""));
    ASSIGN_OR_RETURN(spec.action_limits.wall_time,
                     ParseDurationIn(name, text, kMinRunTime, bounds.max_action_time));
    spec.action_limits.cpu_time = spec.action_limits.wall_time;
  } else if (key == "memory") {
    ASSIGN_OR_RETURN(std::string_view text, StringOption(key, value, "a size such as \"512M\""));
    ASSIGN_OR_RETURN(spec.action_limits.memory_bytes,
                     ParseBytesIn(name, text, kMinMemoryBytes, bounds.max_memory_bytes));
  } else if (key == "disk_limit") {
    ASSIGN_OR_RETURN(std::string_view text, StringOption(key, value, "a size such as \"256M\""));
    ASSIGN_OR_RETURN(spec.disk_bytes,
                     ParseBytesIn(name, text, kMinDiskBytes, bounds.job_disk_bytes));
  } else if (key == "output_limit") {
    ASSIGN_OR_RETURN(std::string_view text, StringOption(key, value, "a size such as \"4M\""));
    ASSIGN_OR_RETURN(spec.output_bytes,
                     ParseBytesIn(name, text, kMinJobOutputBytes, bounds.job_output_bytes));
  } else if (key == "network" && value.is_object()) {
    ASSIGN_OR_RETURN(spec.egress, ParseJobEgress(value.get_object(), bounds.egress));
    spec.network = sandbox::NetworkMode::kProxy;
  } else if (key == "network") {
    ASSIGN_OR_RETURN(
        std::string_view text,
        StringOption(key, value, "\"none\", \"host\" or {\"allow\": [\"pypi.org\", ...]}"));
    if (text == "host") {
      if (!bounds.allow_network) {
        return Error(ErrorCode::kPermissionDenied,
                     "options.network: this server does not let jobs use the host's network (its "
                     "operator can allow it with warden serve --allow-network)");
      }
      spec.network = sandbox::NetworkMode::kHost;
    } else if (text != "none") {
      return Invalid(
          "options.network must be \"none\", \"host\" or {\"allow\": [\"pypi.org\", ...]}");
    }
  } else if (key == "provider" || key == "model") {
    if (!value.is_string() || value.get_string().empty()) {
      return Invalid(fmt::format("options.{} must be a non-empty string", key));
    }
    (key == "provider" ? spec.provider : spec.model) = std::string(value.get_string());
  } else if (key == "max_steps") {
    auto max = static_cast<int64_t>(bounds.max_steps);
    if (!value.is_int64() || value.get_int64() < 1 || value.get_int64() > max) {
      return Invalid(fmt::format("options.max_steps must be a whole number from 1 to {}", max));
    }
    spec.max_steps = static_cast<int>(value.get_int64());
  } else if (key == "approve") {
    auto mode = value.is_string() ? agent::ParseApprovalMode(value.get_string())
                                  : Result<agent::ApprovalMode>(Invalid(""));
    if (!mode.ok()) {
      return Invalid("options.approve must be \"never\", \"risky\" or \"always\"");
    }
    spec.approve = *mode;
  } else if (key == "requeue_on_crash") {
    if (!value.is_bool()) {
      return Invalid("options.requeue_on_crash must be true or false");
    }
    spec.requeue_on_crash = value.get_bool();
  } else {
    return Invalid(fmt::format("unknown option \"{}\" (known: {})", key, JobOptionNames()));
  }
  return OkStatus();
}

Result<Step> ParseStep(const json::value& value, size_t index) {
  const json::object* s = value.if_object();
  auto text = [&](const json::object& object, std::string_view key) -> const json::string* {
    const json::value* field = object.if_contains(key);
    return field != nullptr && field->is_string() ? &field->get_string() : nullptr;
  };
  if (s != nullptr && s->size() == 1) {
    if (const json::string* shell = text(*s, "shell"); shell != nullptr) {
      return Step{Step::Kind::kShell, std::string(*shell), ""};
    }
    if (const json::string* python = text(*s, "python"); python != nullptr) {
      return Step{Step::Kind::kPython, std::string(*python), ""};
    }
    const json::value* write = s->if_contains("write_file");
    if (write != nullptr && write->is_object()) {
      const json::string* path = text(write->get_object(), "path");
      const json::string* content = text(write->get_object(), "content");
      if (path != nullptr && content != nullptr && write->get_object().size() == 2) {
        return Step{Step::Kind::kWriteFile, std::string(*content), std::string(*path)};
      }
    }
  }
  return Invalid(
      fmt::format("steps[{}] must be one of {{\"shell\": \"...\"}}, {{\"python\": \"...\"}}, "
                  "{{\"write_file\": {{\"path\": \"...\", \"content\": \"...\"}}}}",
                  index));
}

// Input files larger in all than the job's disk limit would end it before its first action.
Status CheckFilesFit(const std::vector<InputFile>& files, uint64_t disk_bytes) {
  uint64_t total = 0;
  for (const InputFile& file : files) {
    total += file.content.size();
  }
  if (total > disk_bytes) {
    return Invalid(
        fmt::format("\"files\" hold {} bytes in all, more than the job's disk limit of {} "
                    "bytes (options.disk_limit)",
                    total, disk_bytes));
  }
  return OkStatus();
}

}  // namespace

std::string_view JobOptionNames() {
  return "timeout, action_timeout, memory, disk_limit, output_limit, network, provider, model, "
         "max_steps, approve, requeue_on_crash";
}

Result<JobSpec> ParseJobSpec(const json::object& input, const JobBounds& bounds) {
  for (const auto& field : input) {
    if (field.key() != "task" && field.key() != "steps" && field.key() != "options" &&
        field.key() != "files") {
      return Invalid(fmt::format(
          "unknown field \"{}\": a job has \"task\" or \"steps\", and \"options\" and \"files\"",
          std::string_view{field.key()}));
    }
  }
  const json::value* task = input.if_contains("task");
  const json::value* steps = input.if_contains("steps");
  if ((task != nullptr) == (steps != nullptr)) {
    return Invalid(
        "a job has either \"task\" (a string) or \"steps\" (an array), not both or none");
  }
  JobSpec spec;
  spec.action_limits = bounds.action;
  spec.timeout = bounds.job_timeout;
  spec.disk_bytes = bounds.job_disk_bytes;
  spec.output_bytes = bounds.job_output_bytes;
  spec.approve = bounds.approve;
  if (const json::value* options = input.if_contains("options"); options != nullptr) {
    if (!options->is_object()) {
      return Invalid("\"options\" must be an object");
    }
    for (const auto& option : options->get_object()) {
      RETURN_IF_ERROR(ApplyOption(option.key(), option.value(), bounds, spec));
    }
  }
  if (const json::value* files = input.if_contains("files"); files != nullptr) {
    ASSIGN_OR_RETURN(spec.files, ParseInputFiles(*files));
    RETURN_IF_ERROR(CheckFilesFit(spec.files, spec.disk_bytes));
  }
  if (task != nullptr) {
    if (!task->is_string() ||
        task->get_string().find_first_not_of(" \t\r\n") == json::string::npos) {
      return Invalid("\"task\" must be a non-empty string");
    }
    spec.kind = JobKind::kTask;
    spec.task = std::string(task->get_string());
    return spec;
  }
  if (!steps->is_array() || steps->get_array().empty()) {
    return Invalid("\"steps\" must be a non-empty array");
  }
  if (steps->get_array().size() > bounds.max_steps) {
    return Invalid(fmt::format("a job may have at most {} steps, not {}", bounds.max_steps,
                               steps->get_array().size()));
  }
  spec.kind = JobKind::kSteps;
  for (const json::value& step : steps->get_array()) {
    ASSIGN_OR_RETURN(Step parsed, ParseStep(step, spec.steps.size()));
    spec.steps.push_back(std::move(parsed));
  }
  return spec;
}

}  // namespace warden::jobs
