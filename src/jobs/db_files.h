// The job database's files on disk (the database, its -wal and -shm): readable and writable by
// the service alone, since they hold every job's input, output and owner.
#pragma once

#include <string>

#include "base/result.h"

namespace warden::jobs {

// Creates the database file `path` with mode 0600 when it does not exist, and takes group and
// other permissions away from it and from its -wal and -shm files when they do (a database made
// by an earlier version). SQLite creates -wal and -shm with the database file's mode, so they
// are private too from then on.
Status MakeDatabaseFilesPrivate(const std::string& path);

}  // namespace warden::jobs
