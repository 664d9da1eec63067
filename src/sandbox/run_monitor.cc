#include "sandbox/run_monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "base/log.h"
#include "sandbox/workspace_watch.h"
#include "sys/fs.h"

namespace warden::sandbox {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;

// How often CPU time (cgroup) and workspace size are checked at first (then as often as the
// workspace is cheap to measure), and how long output may keep arriving after init has exited
// before the pipes are abandoned (only possible unsandboxed).
constexpr milliseconds kCheckInterval{100};
constexpr milliseconds kDrainGrace{1000};

class Monitor {
 public:
  explicit Monitor(MonitorInputs in) : in_(std::move(in)) {}

  MonitorResult Run();

 private:
  void Kill(Outcome reason);
  void ReadOutput(int fd, Stream stream);
  void ReadReports();
  void FillStdin();
  void FeedStdin();
  void CheckLimits();
  bool WorkspaceOverLimit();
  void Reap();
  int Timeout(Clock::time_point now) const;

  MonitorInputs in_;
  MonitorResult out_;
  std::optional<Outcome> killed_for_;
  std::optional<int> program_status_;
  bool init_exited_ = false;
  Clock::time_point init_exit_time_;
  // Input on its way to the program: spec.stdin_data, or what was read from spec.stdin_fd.
  std::string stdin_pending_;
  size_t stdin_offset_ = 0;
  bool stdin_source_open_ = false;
  uint64_t output_total_ = 0;
  Clock::time_point next_check_;
  milliseconds check_interval_ = kCheckInterval;
  Clock::time_point last_disk_check_;
  bool disk_nearly_full_ = false;        // past half the budget: measure on every write
  UniqueFd tmp_fd_;                      // the run's /tmp, to tell afterwards whether it filled up
  std::optional<WorkspaceWatch> watch_;  // a caller's workspace: written to just now?
  Clock::time_point ready_at_;           // for the debug log: when the program had started
  Clock::time_point exited_at_;          // and when init reported its end
};

void Monitor::Kill(Outcome reason) {
  if (killed_for_.has_value() || init_exited_) {
    return;
  }
  killed_for_ = reason;
  // Killing init tears down the PID namespace: the kernel kills every process of the run.
  ::syscall(SYS_pidfd_send_signal, in_.pidfd, SIGKILL, nullptr, 0);
  if (in_.cgroup != nullptr) {
    if (in_.isolated) {
      in_.cgroup->KillListed();  // sooner than the namespace's teardown reaches them
    } else {
      in_.cgroup->KillAll();
    }
  }
}

void Monitor::ReadOutput(int fd, Stream stream) {
  char buffer[64 * 1024];
  ssize_t n = ::read(fd, buffer, sizeof(buffer));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
    return;
  }
  if (n <= 0) {
    (stream == Stream::kStdout ? in_.stdout_fd : in_.stderr_fd).reset();
    return;
  }
  std::string_view data(buffer, static_cast<size_t>(n));
  uint64_t limit = in_.spec->limits.output_bytes;
  std::string& sink = stream == Stream::kStdout ? out_.result.stdout_data : out_.result.stderr_data;
  bool& truncated =
      stream == Stream::kStdout ? out_.result.stdout_truncated : out_.result.stderr_truncated;
  uint64_t room = output_total_ < limit ? limit - output_total_ : 0;
  if (data.size() > room) {
    data = data.substr(0, room);
    truncated = true;
    Kill(Outcome::kOutputLimit);
  }
  output_total_ += data.size();
  sink.append(data);
  if (!data.empty() && in_.spec->on_output) {
    in_.spec->on_output(stream, data);
  }
}

void Monitor::ReadReports() {
  ChildReport report{};
  ssize_t n = ::read(in_.report_fd.get(), &report, sizeof(report));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
    return;
  }
  if (n != static_cast<ssize_t>(sizeof(report))) {
    in_.report_fd.reset();  // EOF: init and the program are gone
    return;
  }
  switch (report.kind) {
    case ChildReport::Kind::kSetupFailed:
      if (!out_.setup_failure) {
        out_.setup_failure = report;
      }
      break;
    case ChildReport::Kind::kExecFailed:
      out_.exec_errno = report.err;
      break;
    case ChildReport::Kind::kReady:
      ready_at_ = Clock::now();
      if (in_.isolated) {
        // Keep the run's /tmp file system alive past the run to see whether it filled up.
        tmp_fd_.reset(::open(fmt::format("/proc/{}/root/tmp", in_.init_pid).c_str(),
                             O_PATH | O_DIRECTORY | O_CLOEXEC));
      }
      break;
    case ChildReport::Kind::kExited:
      program_status_ = report.status;
      exited_at_ = Clock::now();
      break;
  }
}

void Monitor::FillStdin() {
  char buffer[64 * 1024];
  ssize_t n = ::read(in_.spec->stdin_fd, buffer, sizeof(buffer));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
    return;
  }
  if (n <= 0) {
    stdin_source_open_ = false;
    if (stdin_offset_ == stdin_pending_.size()) {
      in_.stdin_fd.reset();  // all delivered: the program reads EOF
    }
    return;
  }
  stdin_pending_.assign(buffer, static_cast<size_t>(n));
  stdin_offset_ = 0;
}

void Monitor::FeedStdin() {
  ssize_t n = ::write(in_.stdin_fd.get(), stdin_pending_.data() + stdin_offset_,
                      stdin_pending_.size() - stdin_offset_);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
    return;
  }
  if (n < 0) {
    in_.stdin_fd.reset();  // EPIPE: the program does not read its input
    stdin_source_open_ = false;
    return;
  }
  stdin_offset_ += static_cast<size_t>(n);
  if (stdin_offset_ == stdin_pending_.size() && !stdin_source_open_) {
    in_.stdin_fd.reset();
  }
}

bool Monitor::WorkspaceOverLimit() {
  auto usage = sys::DiskUsage(in_.workspace_fd);
  if (!usage.ok()) {
    return usage.error().code() == ErrorCode::kResourceExhausted;  // too deep to measure
  }
  uint64_t used = *usage > in_.workspace_baseline_bytes ? *usage - in_.workspace_baseline_bytes : 0;
  disk_nearly_full_ = used > in_.spec->limits.disk_bytes / 2;
  return used > in_.spec->limits.disk_bytes;
}

void Monitor::CheckLimits() {
  const Limits& limits = in_.spec->limits;
  if (in_.cgroup != nullptr) {
    in_.cgroup->SampleMemory();
  }
  if (in_.cgroup != nullptr && limits.cpu_time.count() > 0) {
    auto usage = in_.cgroup->CpuUsageMicros();
    if (usage.ok() && microseconds(*usage) > limits.cpu_time) {
      Kill(Outcome::kCpuLimit);
    }
  }
  if (in_.workspace_fd >= 0 && limits.disk_bytes > 0 && !(watch_ && watch_->Unchanged())) {
    Clock::time_point before = Clock::now();
    if (WorkspaceOverLimit()) {
      Kill(Outcome::kDiskLimit);
    }
    last_disk_check_ = Clock::now();
    // Measure often while measuring is cheap (a small workspace: every 2 ms, so that a fast
    // writer overshoots little), rarely when it is not (at most 2% of a core).
    auto took = Clock::now() - before;
    check_interval_ =
        std::clamp(duration_cast<milliseconds>(took * 50), milliseconds(2), milliseconds(1000));
  }
}

int Monitor::Timeout(Clock::time_point now) const {
  Clock::time_point wake = next_check_;
  if (init_exited_) {
    wake = init_exit_time_ + kDrainGrace;
  } else if (!killed_for_ && in_.spec->limits.wall_time.count() > 0) {
    wake = std::min(wake, in_.start + in_.spec->limits.wall_time);
  }
  auto ms = duration_cast<milliseconds>(wake - now).count() + 1;
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

void Monitor::Reap() {
  siginfo_t info{};
  struct rusage usage {};
  if (::syscall(SYS_waitid, P_PIDFD, in_.pidfd, &info, WEXITED, &usage) == 0) {
    out_.result.cpu_time = microseconds(usage.ru_utime.tv_sec * 1'000'000 + usage.ru_utime.tv_usec +
                                        usage.ru_stime.tv_sec * 1'000'000 + usage.ru_stime.tv_usec);
  }
  init_exited_ = true;
  init_exit_time_ = Clock::now();
  out_.result.wall_time = duration_cast<microseconds>(init_exit_time_ - in_.start);
}

MonitorResult Monitor::Run() {
  if (in_.workspace_watch) {
    watch_ = std::move(in_.workspace_watch);
  } else if (in_.workspace_fd >= 0 && in_.spec->limits.disk_bytes > 0) {
    watch_ = WorkspaceWatch::Start(in_.workspace_fd);
  }
  if (in_.stdin_fd) {
    stdin_source_open_ = in_.spec->stdin_fd >= 0;
    if (!stdin_source_open_) {
      stdin_pending_ = in_.spec->stdin_data;
    }
  }
  next_check_ = in_.start + milliseconds(2);
  for (;;) {
    bool output_open = in_.stdout_fd || in_.stderr_fd || in_.report_fd;
    if (init_exited_ && !output_open) {
      break;
    }
    Clock::time_point now = Clock::now();
    if (init_exited_ && now >= init_exit_time_ + kDrainGrace) {
      break;  // unsandboxed leftovers still hold the pipes: stop listening
    }
    if (!init_exited_ && !killed_for_) {
      if (in_.spec->limits.wall_time.count() > 0 && now >= in_.start + in_.spec->limits.wall_time) {
        Kill(Outcome::kTimeout);
      } else if (now >= next_check_) {
        CheckLimits();
        next_check_ = now + check_interval_;
      }
    }

    struct pollfd fds[8];
    int count = 0;
    auto add = [&](int fd, decltype(pollfd::events) events) {
      if (fd >= 0) {
        fds[count++] = {fd, events, 0};
      }
    };
    add(in_.stdout_fd.get(), POLLIN);
    add(in_.stderr_fd.get(), POLLIN);
    add(in_.report_fd.get(), POLLIN);
    add(init_exited_ ? -1 : in_.pidfd, POLLIN);
    add(in_.cancel != nullptr && !killed_for_ ? in_.cancel->fd() : -1, POLLIN);
    bool stdin_has_data = stdin_offset_ < stdin_pending_.size();
    add(stdin_has_data ? in_.stdin_fd.get() : -1, POLLOUT);
    add(!stdin_has_data && stdin_source_open_ && in_.stdin_fd ? in_.spec->stdin_fd : -1, POLLIN);
    add(watch_ && !killed_for_ && !init_exited_ ? watch_->fd() : -1, POLLIN);
    int ready = ::poll(fds, static_cast<nfds_t>(count), Timeout(now));
    if (ready < 0 && errno != EINTR) {
      Kill(Outcome::kCancelled);
      break;
    }
    for (int i = 0; i < count && ready > 0; ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      int fd = fds[i].fd;
      if (fd == in_.stdout_fd.get()) {
        ReadOutput(fd, Stream::kStdout);
      } else if (fd == in_.stderr_fd.get()) {
        ReadOutput(fd, Stream::kStderr);
      } else if (fd == in_.report_fd.get()) {
        ReadReports();
      } else if (fd == in_.pidfd) {
        Reap();
      } else if (in_.cancel != nullptr && fd == in_.cancel->fd()) {
        Kill(Outcome::kCancelled);
      } else if (fd == in_.stdin_fd.get()) {
        FeedStdin();
      } else if (fd == in_.spec->stdin_fd) {
        FillStdin();
      } else if (watch_ && fd == watch_->fd()) {
        // Written to: measure now rather than at the next tick (at most every millisecond
        // until half the budget is used, then on every write).
        if (watch_->Drain() && !killed_for_ && !init_exited_ &&
            (disk_nearly_full_ || Clock::now() >= last_disk_check_ + milliseconds(1))) {
          if (WorkspaceOverLimit()) {
            Kill(Outcome::kDiskLimit);
          }
          last_disk_check_ = Clock::now();
        }
      }
    }
  }
  if (!init_exited_) {
    Kill(Outcome::kCancelled);
    Reap();
  }
  in_.stdin_fd.reset();
  auto us = [&](Clock::time_point t) {
    return t == Clock::time_point{} ? -1 : duration_cast<microseconds>(t - in_.start).count();
  };
  LOG_DEBUG(
      "run timeline (us after clone): program started {}, ended {}, init reaped {}, drained {}",
      us(ready_at_), us(exited_at_), us(init_exit_time_), us(Clock::now()));

  RunResult& r = out_.result;
  uint64_t oom_kills = 0;
  if (in_.cgroup != nullptr) {
    if (auto cpu = in_.cgroup->CpuUsageMicros(); cpu.ok()) {
      r.cpu_time = std::max(r.cpu_time, microseconds(*cpu));
    }
    if (auto peak = in_.cgroup->PeakMemoryBytes(); peak.ok()) {
      r.peak_memory_bytes = *peak;
    }
    if (auto kills = in_.cgroup->OomKills(); kills.ok()) {
      oom_kills = *kills;
    }
  }
  bool tmp_full = false;
  if (tmp_fd_) {
    struct statfs st {};
    tmp_full = ::fstatfs(tmp_fd_.get(), &st) == 0 && st.f_bavail * st.f_bsize < 64 * size_t{1024};
  }

  // What was written between the last check and the end counts too (a tree that a complete
  // watch saw unchanged holds what it held at the start).
  bool workspace_over = in_.workspace_fd >= 0 && in_.spec->limits.disk_bytes > 0 && !killed_for_ &&
                        !(watch_ && watch_->Unchanged()) && WorkspaceOverLimit();

  const Limits& limits = in_.spec->limits;
  if (out_.setup_failure) {
    r.outcome = Outcome::kSetupError;
  } else if (killed_for_) {
    r.outcome = *killed_for_;
    r.signal = SIGKILL;
  } else if (program_status_) {
    int status = *program_status_;
    if (WIFEXITED(status)) {
      r.exit_code = WEXITSTATUS(status);
      r.outcome = Outcome::kExited;
      if (r.exit_code != 0 && oom_kills > 0) {
        r.outcome = Outcome::kMemoryLimit;
      } else if (tmp_full || workspace_over) {
        r.outcome = Outcome::kDiskLimit;  // the program hit ENOSPC, whatever it made of it
      }
    } else {
      r.signal = WTERMSIG(status);
      r.outcome = Outcome::kSignaled;
      if (r.signal == SIGXFSZ) {
        r.outcome = Outcome::kDiskLimit;
      } else if (r.signal == SIGXCPU || (r.signal == SIGKILL && limits.cpu_time.count() > 0 &&
                                         r.cpu_time >= limits.cpu_time)) {
        r.outcome = Outcome::kCpuLimit;
      } else if (r.signal == SIGKILL && oom_kills > 0) {
        r.outcome = Outcome::kMemoryLimit;
      }
    }
  } else if (oom_kills > 0) {
    r.outcome = Outcome::kMemoryLimit;  // init itself was chosen by the OOM killer
    r.signal = SIGKILL;
  } else {
    r.outcome = Outcome::kSetupError;
    r.setup_step = "run the sandbox's init process";
    r.message = "the sandbox's init process ended without reporting the program's status";
  }
  return std::move(out_);
}

}  // namespace

MonitorResult MonitorRun(MonitorInputs inputs) {
  return Monitor(std::move(inputs)).Run();
}

}  // namespace warden::sandbox
