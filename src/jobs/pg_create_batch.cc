#include "jobs/pg_create_batch.h"

#include <map>
#include <set>

#include "base/json_text.h"

namespace warden::jobs::pg {
namespace {

// Bounds a batch's transaction and statement.
constexpr size_t kMaxBatch = 500;
// pg_advisory_xact_lock keys, shared with the one-job path (pg_store.cc).
constexpr int64_t kQueueLockKey = 7283957463022;

// A PostgreSQL array literal of `values`, each quoted.
std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string array = "{";
  for (const std::string& value : values) {
    if (array.size() > 1) {
      array += ',';
    }
    array += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') {
        array += '\\';
      }
      array += c;
    }
    array += '"';
  }
  return array + "}";
}

constexpr std::string_view kInsertSql = R"sql(
WITH j AS (
  INSERT INTO jobs (id, owner, kind, input, state, created_at_ms, requeue_on_crash, workspace,
                    last_seq)
  SELECT id, owner, kind, input, 'queued', created, requeue, workspace, 1
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::boolean[],
                $7::text[]) AS t(id, owner, kind, input, created, requeue, workspace)
  RETURNING id, created_at_ms)
INSERT INTO events (job_id, seq, time_ms, type, data)
  SELECT id, 1, created_at_ms, 'state', $8 FROM j)sql";

}  // namespace

Error QueueFull(int64_t queued) {
  return Error(ErrorCode::kResourceExhausted,
               std::to_string(queued) +
                   " jobs are queued, the most this server accepts (max_queued); try again later");
}

Error OwnerQueueFull(int64_t queued) {
  return Error(ErrorCode::kResourceExhausted,
               std::to_string(queued) +
                   " of your jobs are queued, the most this server accepts from one key "
                   "(max_queued_per_key); wait for some to start, then try again");
}

CreateBatcher::CreateBatcher(std::string url, StoreOptions options,
                             std::function<std::string(const std::string&)> workspace_for,
                             std::function<void()> committed)
    : url_(std::move(url)),
      options_(std::move(options)),
      workspace_for_(std::move(workspace_for)),
      committed_(std::move(committed)),
      thread_([this](const std::stop_token& stop) { Loop(stop); }) {}

CreateBatcher::~CreateBatcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
}

Status CreateBatcher::Create(Job& job) {
  Request request{&job, OkStatus()};
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return Error(ErrorCode::kUnavailable, "the job store is closing");
    }
    queue_.push_back(&request);
  }
  work_cv_.notify_one();
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return request.done; });
  return std::move(request.status);
}

void CreateBatcher::Loop(const std::stop_token& /*stop*/) {
  std::vector<Request*> batch;
  while (true) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping, and nothing left to write
      }
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    Write(batch);
    {
      std::lock_guard lock(mu_);
      for (Request* request : batch) {
        request->done = true;
      }
    }
    done_cv_.notify_all();
    batch.clear();
  }
}

void CreateBatcher::Write(std::span<Request* const> batch) {
  Status written = WriteJobs(batch);
  for (Request* request : batch) {
    if (request->status.ok() && !written.ok()) {
      request->status = written.error();
    }
  }
  if (written.ok()) {
    committed_();
  }
}

Status CreateBatcher::WriteJobs(std::span<Request* const> batch) {
  if (conn_ == nullptr || conn_->broken()) {
    conn_.reset();
    ASSIGN_OR_RETURN(Connection conn, Connection::Open(url_));
    conn_ = std::make_unique<Connection>(std::move(conn));
  }
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*conn_));
  RETURN_IF_ERROR(CheckLimits(batch));
  std::vector<std::string> ids, owners, kinds, inputs, created, requeue, workspaces;
  for (Request* request : batch) {
    if (!request->status.ok()) {
      continue;  // refused by a limit
    }
    Job& job = *request->job;
    job.created_at_ms = options_.clock();
    job.id = NewId(kJobIdPrefix, job.created_at_ms);
    job.workspace = workspace_for_(job.id);
    job.last_event_seq = 1;
    ids.push_back(job.id);
    owners.push_back(job.owner);
    kinds.push_back(std::string(JobKindName(job.kind)));
    inputs.push_back(SerializeJson(job.input));
    created.push_back(std::to_string(job.created_at_ms));
    requeue.push_back(job.requeue_on_crash ? "t" : "f");
    workspaces.push_back(job.workspace);
  }
  if (ids.empty()) {
    return tx.Commit();
  }
  const std::string state_event = SerializeJson(
      json::object{{"state", JobStateName(JobState::kQueued)}, {"reason", kReasonSubmitted}});
  RETURN_IF_ERROR(conn_->Run(
      kInsertSql,
      {ArrayLiteral(ids), ArrayLiteral(owners), ArrayLiteral(kinds), ArrayLiteral(inputs),
       ArrayLiteral(created), ArrayLiteral(requeue), ArrayLiteral(workspaces), state_event}));
  return tx.Commit();
}

// Refuses, in order, the jobs past max_queued or their owner's max_queued_per_owner. Counts are
// exact across nodes: the queue's lock (or each owner's) is held until the batch commits, as the
// one-job path holds it.
Status CreateBatcher::CheckLimits(std::span<Request* const> batch) {
  const bool any_bound = options_.max_queued > 0 || options_.max_queued_per_owner > 0;
  if (!any_bound) {
    return OkStatus();
  }
  std::set<std::string> owners;  // sorted: locks taken in one order, so never a deadlock
  for (Request* request : batch) {
    if (request->job->owner != kAnyOwner) {
      owners.insert(request->job->owner);
    }
  }
  int64_t queued = 0;
  if (options_.max_queued > 0) {
    RETURN_IF_ERROR(conn_->Run("SELECT pg_advisory_xact_lock($1)", {kQueueLockKey}));
    ASSIGN_OR_RETURN(Rows rows, conn_->Query("SELECT count(*) FROM jobs WHERE state = 'queued'"));
    queued = rows.Int(0, 0);
  }
  std::map<std::string, int64_t> owner_queued;
  if (options_.max_queued_per_owner > 0 && !owners.empty()) {
    std::vector<std::string> list(owners.begin(), owners.end());
    if (options_.max_queued == 0) {
      for (const std::string& owner : list) {
        RETURN_IF_ERROR(conn_->Run(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 7283957463023))", {owner}));
      }
    }
    ASSIGN_OR_RETURN(Rows rows, conn_->Query("SELECT owner, count(*) FROM jobs WHERE state = "
                                             "'queued' AND owner = ANY($1::text[]) GROUP BY owner",
                                             {ArrayLiteral(list)}));
    for (int i = 0; i < rows.size(); ++i) {
      owner_queued[rows.Text(i, 0)] = rows.Int(i, 1);
    }
  }
  for (Request* request : batch) {
    const std::string& owner = request->job->owner;
    if (options_.max_queued > 0 && queued >= options_.max_queued) {
      request->status = QueueFull(queued);
      continue;
    }
    if (options_.max_queued_per_owner > 0 && owner != kAnyOwner &&
        owner_queued[owner] >= options_.max_queued_per_owner) {
      request->status = OwnerQueueFull(owner_queued[owner]);
      continue;
    }
    ++queued;
    ++owner_queued[owner];
  }
  return OkStatus();
}

}  // namespace warden::jobs::pg
