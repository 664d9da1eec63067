// SqliteStore's state, shared by the files that implement its methods (sqlite_store*.cc).
// Internal.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "jobs/sqlite.h"
#include "jobs/sqlite_rows.h"
#include "jobs/sqlite_store.h"

namespace warden::jobs {

class SqliteStore::Impl {
 public:
  Impl(SqliteStoreOptions options, std::vector<sqlite::Connection> readers,
       sqlite::Connection writer)
      : options_(std::move(options)),
        readers_(std::move(readers)),
        writer_(std::move(writer), [this] { OnCommit(); }) {}

  ~Impl() {
    {
      std::lock_guard lock(commit_mu_);
      closing_ = true;
    }
    commit_cv_.notify_all();
  }

  const SqliteStoreOptions& options() const { return options_; }
  int64_t Now() const { return options_.store.clock(); }
  sqlite::ConnectionPool& readers() { return readers_; }
  // Runs `op` in the writer's next batch; returns once that batch is durable (or failed).
  Status Write(const sqlite::WriteOp& op) { return writer_.Run(op); }

  std::string WorkspaceFor(const std::string& id) const {
    const std::string& root = options_.store.workspace_root;
    if (root.empty()) {
      return "";
    }
    return root.back() == '/' ? root + id : root + "/" + id;
  }

  // Calls `check` (a read) until it returns true, waking after each commit; false at the deadline.
  Result<bool> WaitUntil(const std::function<Result<bool>()>& check,
                         std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      uint64_t generation = 0;
      {
        std::lock_guard lock(commit_mu_);
        if (closing_) {
          return Error(ErrorCode::kUnavailable, "the job store is closing");
        }
        generation = commit_generation_;
      }
      // A commit after reading the generation wakes the wait below, so none is missed.
      ASSIGN_OR_RETURN(bool done, check());
      if (done) {
        return true;
      }
      std::unique_lock lock(commit_mu_);
      if (!commit_cv_.wait_until(lock, deadline,
                                 [&] { return commit_generation_ != generation || closing_; })) {
        return false;
      }
    }
  }

  // Refuses a job whose parent or session is missing (or another owner's), or one too many in the
  // queue. A session job gets the session's workspace.
  Status CheckNewJob(const sqlite::WriteContext& ctx, Job& job) {
    if (!job.parent_id.empty()) {
      Result<Job> parent = sqlite::LoadJob(ctx.conn, job.parent_id, job.owner);
      if (!parent.ok()) {
        return parent.error().WithContext("retrying");
      }
    }
    if (!job.session_id.empty()) {
      ASSIGN_OR_RETURN(Session session, sqlite::LoadSession(ctx.conn, job.session_id, job.owner));
      job.workspace = session.workspace;
    }
    if (options_.store.max_queued > 0) {
      ASSIGN_OR_RETURN(int64_t queued, QueuedCount(ctx));
      if (queued >= options_.store.max_queued) {
        return Error(ErrorCode::kResourceExhausted,
                     std::to_string(queued) +
                         " jobs are queued, the most this server accepts "
                         "(max_queued); try again later");
      }
    }
    if (options_.store.max_queued_per_owner > 0 && job.owner != kAnyOwner) {
      ASSIGN_OR_RETURN(sqlite::Statement count,
                       ctx.conn.Prepare("SELECT count(*) FROM jobs WHERE state = 'queued' AND "
                                        "owner = ?1"));
      count.BindText(1, job.owner);
      ASSIGN_OR_RETURN(bool row, count.Step());
      int64_t queued = row ? count.Int(0) : 0;
      if (queued >= options_.store.max_queued_per_owner) {
        return Error(ErrorCode::kResourceExhausted,
                     std::to_string(queued) +
                         " of your jobs are queued, the most this server accepts from one key "
                         "(max_queued_per_key); wait for some to start, then try again");
      }
    }
    return OkStatus();
  }

  // Checks `job` (CheckNewJob), gives it an id, a time and a workspace, and writes it queued with
  // its first state event. Writer thread only.
  Status InsertNew(const sqlite::WriteContext& ctx, Job& job) {
    RETURN_IF_ERROR(CheckNewJob(ctx, job));
    // The id is made here, on the writer's thread, so ids also sort in commit order.
    job.created_at_ms = Now();
    job.id = NewId(kJobIdPrefix, job.created_at_ms);
    if (job.session_id.empty()) {
      job.workspace = WorkspaceFor(job.id);
    }
    RETURN_IF_ERROR(sqlite::InsertJob(ctx.conn, job));
    ASSIGN_OR_RETURN(job.last_event_seq,
                     sqlite::InsertStateEvent(ctx.conn, job.id, job.created_at_ms,
                                              JobState::kQueued, kReasonSubmitted));
    AdjustQueued(ctx, +1);
    return OkStatus();
  }

  // Jobs queued at this point of the batch. Counted once, then kept current by the ops that queue
  // and unqueue jobs (only this process writes the database), and counted again whenever work was
  // undone since: so a submission costs no scan of the queue. Writer thread only.
  Result<int64_t> QueuedCount(const sqlite::WriteContext& ctx) {
    if (!QueuedCountValid(ctx)) {
      ASSIGN_OR_RETURN(queued_count_,
                       ctx.conn.QueryInt("SELECT count(*) FROM jobs WHERE state = 'queued'"));
      queued_count_known_ = true;
      queued_count_undone_ = *ctx.undone;
    }
    return queued_count_;
  }
  // Ops call this after the last step that can fail: a failed op must leave the count alone.
  void AdjustQueued(const sqlite::WriteContext& ctx, int64_t delta) {
    if (QueuedCountValid(ctx)) {
      queued_count_ += delta;
    }
  }

 private:
  void OnCommit() {
    {
      std::lock_guard lock(commit_mu_);
      ++commit_generation_;
    }
    commit_cv_.notify_all();
  }

  SqliteStoreOptions options_;
  sqlite::ConnectionPool readers_;
  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  uint64_t commit_generation_ = 0;
  bool closing_ = false;
  bool QueuedCountValid(const sqlite::WriteContext& ctx) {
    queued_count_known_ = queued_count_known_ && queued_count_undone_ == *ctx.undone;
    return queued_count_known_;
  }

  bool queued_count_known_ = false;
  uint64_t queued_count_undone_ = 0;
  int64_t queued_count_ = 0;
  // Last: its thread stops (after draining its queue) before the members it calls back into go.
  sqlite::WriteQueue writer_;
};

}  // namespace warden::jobs
