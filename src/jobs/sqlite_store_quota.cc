// SqliteStore: what an owner's kept workspaces hold, and deleting one finished job.
#include "jobs/sqlite_store_impl.h"

namespace warden::jobs {

using sqlite::LoadJob;
using sqlite::Statement;

Result<int64_t> SqliteStore::WorkspaceBytes(std::string_view owner) {
  auto reader = impl_->readers().Acquire();
  // Per workspace, the row of its newest job (SQLite takes the bare column from the MAX row).
  ASSIGN_OR_RETURN(
      Statement sum,
      reader.conn().Prepare("SELECT COALESCE(SUM(bytes), 0) FROM (SELECT workspace_bytes AS bytes, "
                            "MAX(id) FROM jobs WHERE owner = ?1 AND workspace_bytes > 0 "
                            "GROUP BY workspace)"));
  sum.BindText(1, owner);
  ASSIGN_OR_RETURN(bool row, sum.Step());
  return row ? sum.Int(0) : 0;
}

Result<DeletedJob> SqliteStore::DeleteJob(std::string_view id, std::string_view owner) {
  DeletedJob deleted;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    ASSIGN_OR_RETURN(Job job, LoadJob(ctx.conn, id, owner));
    if (!IsFinal(job.state)) {
      return Error(ErrorCode::kFailedPrecondition,
                   "job " + job.id + " is " + std::string(JobStateName(job.state)) +
                       ": cancel it, then delete it once it has ended");
    }
    // A session's jobs share its workspace, which outlives each of them.
    deleted = DeletedJob{job.id, job.session_id.empty() ? job.workspace : ""};
    return sqlite::DeleteJobRows(ctx.conn, job.id);
  });
  RETURN_IF_ERROR(written);
  return deleted;
}

}  // namespace warden::jobs
