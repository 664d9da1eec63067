// Idmapped mounts: a workspace owned by host root, shown to the sandbox user as its own.
//
// Warden running as root maps the sandbox user to an unprivileged host id, which may not write
// into root's directories. An idmapped mount (Linux 5.12; ext4, xfs, btrfs, tmpfs from 6.3, ...)
// translates ids between the disk and the mount's users: on a mount idmapped from host uid 0 to
// the sandbox user's host uid, root's files appear as the sandbox user's, and what the sandbox
// user writes is stored as root's. Nothing on disk is chowned.
#pragma once

#include <sys/types.h>

#include "base/result.h"
#include "base/unique_fd.h"

namespace warden::sandbox {

// A user namespace whose only ids are `disk_uid`/`disk_gid`, mapped to host `seen_uid`/`seen_gid`:
// the idmapping of a mount on which files of the disk ids appear as the seen ones. Made by a
// short-lived child process (a multi-threaded process cannot unshare a user namespace itself);
// the namespace lives as long as the returned descriptor. Needs CAP_SETUID and CAP_SETGID.
Result<UniqueFd> MakeIdmapNamespace(uid_t disk_uid, gid_t disk_gid, uid_t seen_uid, gid_t seen_gid);

// Idmaps the detached mount `tree` (open_tree(OPEN_TREE_CLONE)) with the user namespace `userns`.
// kFailedPrecondition, naming the cause, when the file system or the kernel cannot.
Status IdmapTree(int tree, int userns);

}  // namespace warden::sandbox
