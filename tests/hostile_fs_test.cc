// Hostile programs against the sandbox's file system: disk fills, host secrets, /proc tricks,
// system directories, symlink and hardlink escapes (checked from the host side too), setuid
// files, device nodes, /dev, sysctls, /proc/PID/exe, and another run's workspace.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hostile_harness.h"

namespace warden::hostile {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kDisk = "16M";
constexpr long long kDiskBytes = 16ll << 20;

long long NumberAfter(const std::string& out, const std::string& key) {
  size_t at = out.find(key);
  if (at == std::string::npos)
    return -1;
  return std::stoll(out.substr(at + key.size()));
}

// Bytes in regular files below `dir` (not following symlinks).
long long BytesIn(const std::string& dir) {
  long long total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec))
      total += static_cast<long long>(it->file_size(ec));
  }
  return total;
}

// What a host file's metadata looks like; a chown, chmod or write through a symlink changes it.
struct FileState {
  bool exists = false;
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;
  off_t size = 0;
  struct timespec mtime {};
  struct timespec ctime {};
  nlink_t nlink = 0;

  bool operator==(const FileState& o) const {
    return exists == o.exists && uid == o.uid && gid == o.gid && mode == o.mode && size == o.size &&
           mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
           ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec && nlink == o.nlink;
  }
};

FileState StateOf(const std::string& path) {
  struct stat st;
  FileState state;
  if (::lstat(path.c_str(), &st) != 0)
    return state;
  state = {true, st.st_uid, st.st_gid, st.st_mode, st.st_size, st.st_mtim, st.st_ctim, st.st_nlink};
  return state;
}

bool IsSymlinkTo(const std::string& path, const std::string& target) {
  std::error_code ec;
  return fs::is_symlink(path, ec) && fs::read_symlink(path, ec).string() == target;
}

TEST_F(HostileTest, FillingWorkspaceWithManyFilesIsStoppedAtDiskLimit) {
  // Many files are not stopped by RLIMIT_FSIZE: the supervisor has to notice, from inotify
  // events, and a writer at page-cache speed (several MB per millisecond) keeps writing until the
  // supervisor's thread is next scheduled, a few milliseconds under load. The overshoot is so
  // many bytes, not a fraction of the limit; it must stay within one limit's worth of 64 MiB, or a
  // fast writer fills the host's disk far past what the run was allowed.
  const long long limit = 64ll << 20;
  HostDir workspace("hostile-ws-");
  WardenResult result =
      RunHostile({"--disk-limit", "64M", "--timeout", "30s", "--workspace", workspace.path()},
                 "fill_disk", {"many", "/workspace"});
  EXPECT_TRUE(HasStatus(result, "disk_limit"));
  EXPECT_THAT(result.out(), Not(HasSubstr("SUCCEEDED")));
  EXPECT_LE(BytesIn(workspace.path()), 2 * limit) << result.Describe();
}

TEST_F(HostileTest, OneHugeFileIsStoppedAtDiskLimit) {
  HostDir workspace("hostile-ws-");
  WardenResult result =
      RunHostile({"--disk-limit", kDisk, "--timeout", "30s", "--workspace", workspace.path()},
                 "fill_disk", {"one", "/workspace"});
  EXPECT_TRUE(HasStatus(result, "disk_limit"));
  EXPECT_LE(BytesIn(workspace.path()), kDiskBytes) << result.Describe();
}

TEST_F(HostileTest, FillingTmpIsStoppedAtDiskLimit) {
  WardenResult result =
      RunHostile({"--disk-limit", kDisk, "--timeout", "30s"}, "fill_disk", {"many", "/tmp"});
  EXPECT_TRUE(HasStatus(result, "disk_limit"));
  const long long written = NumberAfter(result.out(), "written: ");
  if (written >= 0) {
    EXPECT_LE(written, kDiskBytes >> 20) << result.Describe();
    EXPECT_THAT(result.out(), HasSubstr("write: ENOSPC"));
  }
}

TEST_F(HostileTest, FillingDevShmIsBounded) {
  WardenResult result = RunHostile({"--disk-limit", kDisk, "--memory", "64M", "--timeout", "30s"},
                                   "fill_disk", {"many", "/dev/shm"});
  EXPECT_THAT(result.out(), Not(HasSubstr("SUCCEEDED")));
  if (result.status() == "exited") {
    // A size-capped /dev/shm: ENOSPC before the memory limit.
    ExpectContained(result, {"write: ENOSPC"});
    EXPECT_LE(NumberAfter(result.out(), "written: "), 64) << result.Describe();
  } else {
    EXPECT_TRUE(result.status() == "memory_limit" || result.status() == "disk_limit")
        << result.Describe();
    EXPECT_TRUE(HasStatus(result, result.status()));
  }
}

TEST_F(HostileTest, HostSecretsAreInvisible) {
  HostDir secrets("hostile-secret-");
  WriteFile(secrets / "secret", "hostile-secret-" + marker_, 0644);  // readable by anyone
  WardenResult result = RunHostile({"--timeout", "10s"}, "read_secrets", {secrets / "secret"});
  ExpectContained(result, {"/etc/shadow: ENOENT", "/root: ENOENT", "/sys/kernel: ENOENT",
                           secrets / "secret" + ": ENOENT", "visible pids: "});
  EXPECT_LE(NumberAfter(result.out(), "visible pids: "), 3) << result.out();
  EXPECT_THAT(result.out(), Not(HasSubstr("pid 1: " + ReadFile("/proc/1/cmdline").substr(0, 8))));
}

TEST_F(HostileTest, WardenCommandLineIsInvisible) {
  // The host command line of the process that started the sandbox carries host paths here, and
  // for a server or worker whatever its own flags hold (a database URL, a key): no process the
  // sandbox can see may show it.
  HostDir workspace("hostile-ws-secret-path-");
  WardenResult result = RunInSandbox(
      {"--timeout", "10s", "--workspace", workspace.path()},
      {"/bin/sh", "-c", "for p in /proc/[0-9]*; do cat $p/cmdline $p/environ; echo; done 2>&1"});
  EXPECT_TRUE(HasStatus(result, "exited"));
  EXPECT_THAT(result.out(), Not(HasSubstr(workspace.path())));
  EXPECT_THAT(result.out(), Not(HasSubstr(HostileDir())));
  EXPECT_THAT(result.out(), Not(HasSubstr("WARDEN_HOSTILE_SECRET")));
}

TEST_F(HostileTest, HostPathsSupervisorPidAndRunCountAreInvisible) {
  // /proc/self/cgroup of a run on cgroup v1 used to read "4:memory:/warden/run-<pid>-<n>": the
  // supervisor's pid, and a counter of every run it started (another tenant's activity).
  WardenResult result = RunHostile({"--timeout", "10s"}, "host_details",
                                   {"warden", kWardenPidToken, WardenTmpDir(), HostileDir()});
  ExpectContained(result, {"/proc/self/cgroup: clean", "/proc/self/mountinfo: clean",
                           "/proc/self/mountstats: clean", "cgroup lines: "});
}

TEST_F(HostileTest, ProcRootAndCwdDoNotLeadToTheHost) {
  HostDir secrets("hostile-secret-");
  WriteFile(secrets / "secret", "hostile-secret", 0644);
  WardenResult result =
      RunHostile({"--timeout", "10s"}, "proc_escape", {secrets / "secret", secrets.path()});
  // Init (pid 1, another uid) is not even listed in the sandbox's /proc (hidepid), so the walk
  // through every visible pid reaches it only through /proc/self/root/proc/1.
  ExpectContained(result, {"/proc/self/root -> /\n", "/proc/self/root/etc/shadow: ENOENT",
                           "/proc/self/root/proc/1/root/etc/shadow: ENOENT",
                           "/proc/self/cwd/../../../../../../root: ENOENT"});
}

TEST_F(HostileTest, SystemDirectoriesAreReadOnly) {
  const std::string name = "warden-hostile-" + marker_;
  WardenResult result = RunHostile({"--timeout", "10s"}, "write_system", {name});
  ExpectContained(result, {"/usr/" + name + ": ", "/etc/" + name + ": ", "//" + name + ": ",
                           "/usr/bin/env: ", "chmod(/usr/bin/env): "});
  for (const char* dir : {"/", "/usr", "/usr/bin", "/usr/lib", "/etc", "/bin", "/lib", "/sbin"}) {
    EXPECT_FALSE(fs::exists(std::string(dir) + "/" + name)) << "created on the host in " << dir;
  }
}

TEST_F(HostileTest, WorkspaceSymlinksDoNotExposeOrChangeHostFiles) {
  HostDir secrets("hostile-secret-");
  HostDir workspace("hostile-ws-");
  const std::string secret_text = "hostile-secret-" + marker_;
  WriteFile(secrets / "secret", secret_text, 0644);
  fs::create_directory(secrets / "hostile-canary-dir");
  WriteFile(secrets / "hostile-canary-dir/canary", "canary", 0600);
  // Planted by an earlier run (or a careless user): links out of the workspace.
  fs::create_symlink("/etc/shadow", workspace / "shadow");
  fs::create_symlink("/root", workspace / "rootdir");
  fs::create_symlink(secrets / "secret", workspace / "secret");
  fs::create_symlink(secrets.path(), workspace / "hostdir");
  fs::create_symlink("../../../../../../..", workspace / "up");
  const FileState shadow = StateOf("/etc/shadow");
  const FileState canary = StateOf(secrets / "hostile-canary-dir/canary");
  const FileState secret = StateOf(secrets / "secret");

  WardenResult result =
      RunHostile({"--timeout", "10s", "--workspace", workspace.path()}, "symlink_escape",
                 {secrets / "secret", secrets / "hostile-canary-dir", secret_text});
  ExpectContained(result, {"/workspace/shadow: ENOENT", "/workspace/rootdir: ENOENT",
                           "/workspace/secret: ENOENT", "planted 5 symlinks"});

  // From the host: warden followed none of the links (no chown, chmod or write through them).
  EXPECT_TRUE(StateOf("/etc/shadow") == shadow) << "/etc/shadow changed";
  EXPECT_TRUE(StateOf(secrets / "hostile-canary-dir/canary") == canary) << "canary changed";
  EXPECT_TRUE(StateOf(secrets / "secret") == secret) << "secret changed";
  EXPECT_EQ(ReadFile(secrets / "hostile-canary-dir/canary"), "canary");
  EXPECT_TRUE(IsSymlinkTo(workspace / "shadow", "/etc/shadow"));
  EXPECT_TRUE(IsSymlinkTo(workspace / "planted-shadow", "/etc/shadow"));
  EXPECT_TRUE(IsSymlinkTo(workspace / "planted-dir", secrets / "hostile-canary-dir"));
}

TEST_F(HostileTest, TemporaryWorkspaceCleanupDoesNotFollowSymlinks) {
  HostDir secrets("hostile-secret-");
  fs::create_directory(secrets / "hostile-canary-dir");
  WriteFile(secrets / "hostile-canary-dir/canary", "canary", 0600);
  const FileState shadow = StateOf("/etc/shadow");
  const FileState canary = StateOf(secrets / "hostile-canary-dir/canary");

  // No --workspace: warden creates one and removes it, with the planted links, after the run.
  WardenResult result =
      RunHostile({"--timeout", "10s"}, "symlink_escape",
                 {secrets / "secret", secrets / "hostile-canary-dir", "hostile-secret"});
  ExpectContained(result, {"planted 5 symlinks"});
  EXPECT_TRUE(StateOf("/etc/shadow") == shadow) << "/etc/shadow changed";
  EXPECT_TRUE(StateOf(secrets / "hostile-canary-dir/canary") == canary)
      << "the workspace's removal followed a symlink into a host directory";
  EXPECT_TRUE(fs::exists("/usr/bin/env"));
}

TEST_F(HostileTest, HardlinksCannotPullHostFilesIntoTheWorkspace) {
  HostDir secrets("hostile-secret-");
  HostDir workspace("hostile-ws-");
  WriteFile(secrets / "root-only", "hostile-root-only", 0600);
  std::error_code ec;
  fs::create_hard_link(secrets / "root-only", workspace / "hl-secret", ec);
  ASSERT_FALSE(ec) << ec.message();
  const FileState passwd = StateOf("/usr/bin/passwd");

  WardenResult result =
      RunHostile({"--timeout", "10s", "--workspace", workspace.path()}, "hardlink_escape");
  ExpectContained(result, {"link(/usr/bin/passwd): ", "linkat(AT_EMPTY_PATH /usr/bin/passwd): ",
                           "open(/workspace/hl-secret): EACCES"});
  for (const char* name : {"hl-link", "hl-proc", "hl-empty"}) {
    EXPECT_FALSE(fs::exists(workspace / name)) << name << " left in the workspace";
  }
  EXPECT_TRUE(StateOf("/usr/bin/passwd") == passwd) << "/usr/bin/passwd gained a link";
}

// Installs a copy of print_ids in `workspace` as `name`, owned by root, with `mode`.
void InstallPrintIds(const HostDir& workspace, const std::string& name, mode_t mode) {
  fs::copy_file(HostileDir() + "/print_ids", workspace / name);
  ASSERT_EQ(::chown((workspace / name).c_str(), 0, 0), 0);
  ASSERT_EQ(::chmod((workspace / name).c_str(), mode), 0);
}

TEST_F(HostileTest, SetuidRootFileInWorkspaceGivesNoPrivilege) {
  HostDir workspace("hostile-ws-");
  InstallPrintIds(workspace, "suid_print_ids", 06755);
  WardenResult result = RunInSandbox({"--timeout", "10s", "--workspace", workspace.path()},
                                     {"/workspace/suid_print_ids"});
  ExpectContained(result, {"uid=1000 euid=1000 gid=1000 egid=1000", "CapEff: 0000000000000000"});
}

TEST_F(HostileTest, FileCapabilitiesInWorkspaceGiveNothing) {
  HostDir workspace("hostile-ws-");
  InstallPrintIds(workspace, "fcap_print_ids", 0755);
  // security.capability, VFS_CAP_REVISION_2: permitted CAP_SETUID, CAP_DAC_OVERRIDE, CAP_SYS_ADMIN,
  // effective bit set.
  const uint32_t caps[5] = {0x02000000u | 0x1u, (1u << 7) | (1u << 1) | (1u << 21), 0, 0, 0};
  ASSERT_EQ(::setxattr((workspace / "fcap_print_ids").c_str(), "security.capability", caps,
                       sizeof(caps), 0),
            0)
      << std::strerror(errno);
  WardenResult result = RunInSandbox({"--timeout", "10s", "--workspace", workspace.path()},
                                     {"/workspace/fcap_print_ids"});
  ExpectContained(result,
                  {"uid=1000 euid=1000", "CapPrm: 0000000000000000", "CapEff: 0000000000000000"});
}

TEST_F(HostileTest, HostSetuidBinariesGiveNoPrivilege) {
  WardenResult result = RunHostile({"--timeout", "20s"}, "setuid_system");
  ExpectContained(result, {"/usr/bin/su: uid=1000 euid=1000 secure=0",
                           "/usr/bin/passwd: uid=1000 euid=1000 secure=0"});
}

TEST_F(HostileTest, DeviceNodesCannotBeCreated) {
  HostDir workspace("hostile-ws-");
  WardenResult result = RunHostile({"--timeout", "10s", "--workspace", workspace.path()}, "mknod");
  ExpectContained(result, {"/workspace/sda: ", "/tmp/mem: "});
  EXPECT_FALSE(fs::exists(workspace / "sda"));
  EXPECT_FALSE(fs::exists(workspace / "vda"));
}

TEST_F(HostileTest, DevHoldsOnlyTheMinimalDevices) {
  WardenResult result = RunHostile({"--timeout", "10s"}, "dev_contents");
  ExpectContained(result, {"/dev/null\n", "/dev/urandom\n", "/dev/vsock: ENOENT",
                           "/dev/vda: ENOENT", "/dev/mem: ENOENT", "/dev/kmsg: ENOENT"});
}

TEST_F(HostileTest, KernelSettingsCannotBeOpenedForWriting) {
  WardenResult result = RunHostile({"--timeout", "10s"}, "sysctl_write");
  ExpectContained(
      result,
      {"/proc/sys/kernel/hostname: ", "/proc/sys/vm/drop_caches: ", "/proc/sysrq-trigger: "});
}

TEST_F(HostileTest, HostBinariesCannotBeOpenedForWritingThroughProcExe) {
  const FileState warden = StateOf(WardenBinary());
  WardenResult result = RunHostile({"--timeout", "10s"}, "exe_overwrite");
  ExpectContained(result, {"/exe -> "});
  EXPECT_THAT(result.out(), Not(HasSubstr(WardenBinary()))) << "the supervisor's binary is visible";
  EXPECT_TRUE(StateOf(WardenBinary()) == warden) << "the warden binary changed";
}

TEST_F(HostileTest, AnotherRunsWorkspaceIsInvisible) {
  HostDir other("hostile-other-ws-");
  const std::string secret = "hostile-other-secret-" + marker_;
  WardenProcess holder(Options({"--timeout", "25s", "--workspace", other.path()},
                               {std::string(kSandboxDir) + "/workspace_holder", secret}));
  ASSERT_TRUE(WaitForFile(other / "ready", std::chrono::seconds(15)))
      << "the holder sandbox never started";

  std::vector<std::string> args = {secret, other.path(), other / "secret"};
  for (const std::string& entry : TakeHostSnapshot().temp_entries)
    args.push_back(entry);
  WardenResult result = RunHostile({"--timeout", "10s"}, "other_workspace", args);
  WriteFile(other / "stop", "", 0644);
  WardenResult holder_result = holder.Wait();

  ExpectContained(result, {other.path() + ": ENOENT", "visible pids: "});
  EXPECT_TRUE(HasStatus(holder_result, "exited"));
  EXPECT_EQ(holder_result.out(), "holder: stopped\n") << holder_result.Describe();
}

}  // namespace
}  // namespace warden::hostile
