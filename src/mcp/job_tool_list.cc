// The descriptions of Warden's agent tools (tools/list): what a model reads to choose them and to
// call them right, their schemas, and their annotations.
#include <string_view>

#include "mcp/job_tools.h"

namespace warden::mcp {
namespace {

constexpr std::string_view kOutcome =
    R"({"type":"object","properties":{
   "job_id":{"type":"string"},
   "state":{"type":"string","enum":["queued","running","succeeded","failed","cancelled"]},
   "reason":{"type":"string"},"summary":{"type":"string"},
   "files":{"type":"array","items":{"type":"object","properties":{"path":{"type":"string"},"size":{"type":"integer"},"sha256":{"type":["string","null"]}},"required":["path","size"]}},
   "usage":{"type":"object"},
   "approval":{"type":"object","description":"Present while the job waits for approval of an action: id, tool, arguments, reason, expires_at (ms). Answer with agent_task_approve."}},
  "required":["job_id","state","reason","summary","files"]})";

constexpr std::string_view kTools = R"([
{"name":"agent_task","title":"Hand a task to Warden's agent",
 "description":"Give a task in plain language (\"count the words of every .txt file and write a CSV\") to Warden's agent, which plans, runs commands and Python in its own sandbox, checks the results and corrects itself, as a durable job. The call waits for the job (wait_seconds, default 600) and reports progress as the agent acts; it returns the job's state, summary and the files it made (with links to download them). A job still running when the wait ends keeps running: call agent_task_status with its job_id.",
 "inputSchema":{"type":"object","properties":{
   "task":{"type":"string","description":"What to do, in plain language."},
   "options":{"type":"object","description":"Job options as the REST API takes them: timeout, action_timeout, memory, disk_limit, output_limit, network, max_steps, approve, provider, model, requeue_on_crash."},
   "wait_seconds":{"type":"integer","minimum":0,"description":"How long to wait for the job before returning (default 600)."}},
  "required":["task"],"additionalProperties":false},
 "outputSchema":@OUTCOME@,
 "execution":{"taskSupport":"optional"},
 "annotations":{"title":"Hand a task to Warden's agent","readOnlyHint":false,"destructiveHint":false,"idempotentHint":false,"openWorldHint":true}},
{"name":"agent_task_status","title":"Wait for or read an agent task",
 "description":"The state, summary and files of a job that agent_task started. With wait_seconds, waits that long for it to end first, reporting progress.",
 "inputSchema":{"type":"object","properties":{
   "job_id":{"type":"string","description":"The job_id agent_task returned (j_...)."},
   "wait_seconds":{"type":"integer","minimum":0,"description":"How long to wait for the job to end (default 0: answer at once)."}},
  "required":["job_id"],"additionalProperties":false},
 "outputSchema":@OUTCOME@,
 "annotations":{"title":"Wait for or read an agent task","readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,"openWorldHint":false}},
{"name":"agent_task_approve","title":"Answer an agent task's request for approval",
 "description":"An agent task stops before a risky action (a recursive delete, an install, a push, ...) until someone approves it; agent_task and agent_task_status then return its \"approval\". Ask the user, then answer here: approve, deny (with a reason the agent is told, so it can do something else) or always (approve this risk from now on in this job and its session). Then waits for the job as agent_task_status does.",
 "inputSchema":{"type":"object","properties":{
   "job_id":{"type":"string","description":"The job_id agent_task returned (j_...)."},
   "decision":{"type":"string","enum":["approve","deny","always"]},
   "reason":{"type":"string","description":"Why it is denied, for the agent."},
   "approval_id":{"type":"integer","minimum":1,"description":"The approval's id, as returned (default: the one pending)."},
   "wait_seconds":{"type":"integer","minimum":0,"description":"How long to wait for the job afterwards (default 600)."}},
  "required":["job_id","decision"],"additionalProperties":false},
 "outputSchema":@OUTCOME@,
 "annotations":{"title":"Answer an agent task's request for approval","readOnlyHint":false,"destructiveHint":false,"idempotentHint":false,"openWorldHint":false}}
])";

}  // namespace

json::array JobToolList() {
  static const json::array tools = [] {
    std::string text(kTools);
    for (size_t at = text.find("@OUTCOME@"); at != std::string::npos;
         at = text.find("@OUTCOME@", at)) {
      text.replace(at, 9, kOutcome);
    }
    return json::parse(text).as_array();
  }();
  return tools;
}

}  // namespace warden::mcp
