// PgStore's state, shared by the files that implement its methods (pg_store*.cc). Internal.
#pragma once

#include "jobs/pg.h"
#include "jobs/pg_create_batch.h"
#include "jobs/pg_notifier.h"
#include "jobs/pg_rows.h"
#include "jobs/pg_store.h"

namespace warden::jobs {

class PgStore::Impl {
 public:
  explicit Impl(PgStoreOptions options)
      : options_(std::move(options)),
        pool_(options_.url, options_.connections),
        notifier_(options_.url, options_.safety_poll),
        batcher_(
            options_.url, options_.store,
            [this](const std::string& id) { return WorkspaceFor(id); },
            [this] {
              notifier_.Wake();
              notifier_.Announce(pg::Changes{.queued = true});
            }) {}

  const StoreOptions& store_options() const { return options_.store; }
  int64_t Now() const { return options_.store.clock(); }

  // Runs `body` in one transaction. Once it commits, wakes this process's waiters and announces
  // what `body` marked as changed to the other nodes (a NOTIFY sent after the commit, never inside
  // it: a NOTIFY holds a database-wide lock through its transaction's commit, which would make
  // every writer wait for every other's fsync).
  Status Write(const std::function<Status(pg::Connection&, pg::Changes&)>& body) {
    pg::Changes changes;
    RETURN_IF_ERROR(pool_.InTransaction([&](pg::Connection& conn) {
      changes = pg::Changes{};
      return body(conn, changes);
    }));
    notifier_.Wake();
    notifier_.Announce(changes);
    return OkStatus();
  }
  // Runs `body`, which only reads, on a pooled connection outside any explicit transaction. A
  // connection that broke while idle (the server restarted) costs one more try on a new one.
  template <typename T>
  Result<T> Read(const std::function<Result<T>(pg::Connection&)>& body) {
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(pg::Pool::Lease lease, pool_.Acquire());
      Result<T> result = body(lease.conn());
      if (result.ok() || attempt > 0 || !lease.conn().broken()) {
        return result;
      }
    }
  }
  pg::Notifier& notifier() { return notifier_; }
  pg::CreateBatcher& batcher() { return batcher_; }

  std::string WorkspaceFor(const std::string& id) const {
    const std::string& root = options_.store.workspace_root;
    if (root.empty()) {
      return "";
    }
    return root.back() == '/' ? root + id : root + "/" + id;
  }

 private:
  PgStoreOptions options_;
  pg::Pool pool_;
  pg::Notifier notifier_;
  pg::CreateBatcher batcher_;  // after notifier_, which it calls
};

// Create's work inside the caller's transaction: checks `job` (parent, session, the queue's room),
// gives it an id, a time and a workspace, and writes it queued with its first state event.
Status InsertNewJob(PgStore::Impl& impl, pg::Connection& conn, Job& job, pg::Changes& changes);

}  // namespace warden::jobs
