// PgStore: what an owner's kept workspaces hold, and deleting one finished job.
#include "jobs/pg_store_impl.h"

namespace warden::jobs {

using pg::Connection;
using pg::Rows;

Result<int64_t> PgStore::WorkspaceBytes(std::string_view owner) {
  std::string who(owner);
  return impl_->Read<int64_t>([&](Connection& conn) -> Result<int64_t> {
    // Per workspace, the row of its newest job.
    ASSIGN_OR_RETURN(Rows rows,
                     conn.Query("SELECT COALESCE(SUM(bytes), 0)::bigint FROM (SELECT DISTINCT ON "
                                "(workspace) workspace_bytes AS bytes FROM jobs WHERE owner = $1 "
                                "AND workspace_bytes > 0 ORDER BY workspace, id DESC) newest",
                                {who}));
    return rows.Int(0, 0);
  });
}

Result<DeletedJob> PgStore::DeleteJob(std::string_view id, std::string_view owner) {
  DeletedJob deleted;
  Status written = impl_->Write([&](Connection& conn, pg::Changes& /*changes*/) -> Status {
    ASSIGN_OR_RETURN(Job job, pg::LoadJob(conn, id, owner, pg::Lock::kForUpdate));
    if (!IsFinal(job.state)) {
      return Error(ErrorCode::kFailedPrecondition,
                   "job " + job.id + " is " + std::string(JobStateName(job.state)) +
                       ": cancel it, then delete it once it has ended");
    }
    // A session's jobs share its workspace, which outlives each of them.
    deleted = DeletedJob{job.id, job.session_id.empty() ? job.workspace : ""};
    RETURN_IF_ERROR(conn.Run("DELETE FROM events WHERE job_id = $1", {job.id}));
    RETURN_IF_ERROR(conn.Run("DELETE FROM jobs WHERE id = $1", {job.id}));
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return deleted;
}

}  // namespace warden::jobs
