#include "sandbox/late_request.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace warden::sandbox {
namespace {

constexpr uint32_t kMagic = 0x57524c31;  // "WRL1"
constexpr uint32_t kNull = 0xffffffff;

struct Header {
  uint32_t magic;
  uint32_t total;  // bytes, header included
  uint32_t op_count;
  uint32_t argc;
  uint32_t envc;
  uint32_t exec_count;
  uint32_t rlimit_count;
  uint32_t reserved;
};

// A MountOp with string offsets (into the string area) instead of pointers.
struct WireOp {
  uint64_t flags;
  uint64_t dev;
  uint64_t ino;
  uint32_t source, target, fstype, data;
  uint32_t size;
  uint32_t mode;
  uint32_t owner;
  uint8_t kind;
  uint8_t optional;
  uint8_t verify;
  uint8_t reserved;
};

struct WireRlimit {
  int32_t resource;
  int32_t reserved;
  uint64_t soft;
  uint64_t hard;
};

class Writer {
 public:
  explicit Writer(std::string* strings) : strings_(strings) {}
  uint32_t Add(const char* s, size_t size) {
    if (s == nullptr) {
      return kNull;
    }
    auto offset = static_cast<uint32_t>(strings_->size());
    strings_->append(s, size);
    strings_->push_back('\0');
    return offset;
  }
  uint32_t Add(const char* s) { return s == nullptr ? kNull : Add(s, std::strlen(s)); }

 private:
  std::string* strings_;
};

size_t CountNullTerminated(const char* const* list) {
  size_t n = 0;
  while (list != nullptr && list[n] != nullptr) {
    ++n;
  }
  return n;
}

// Static storage of the child: each warm init is its own process, so one copy per process.
alignas(16) char request_buffer[kMaxLateRequestBytes];
MountOp ops[kMaxLateOps];
const char* argv[kMaxLateArgs + 1];
const char* envp[kMaxLateEnv + 1];
const char* exec_paths[kMaxLateExecPaths + 1];
ChildPlan::Rlimit rlimits[kMaxLateRlimits];

bool ReadFully(int fd, char* buffer, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, buffer + done, size - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (n == 0) {
        errno = EPIPE;
      }
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::optional<std::string> EncodeLateRequest(const ChildPlan& plan) {
  size_t argc = CountNullTerminated(plan.argv);
  size_t envc = CountNullTerminated(plan.envp);
  if (plan.late_op_count > kMaxLateOps || argc > kMaxLateArgs || envc > kMaxLateEnv ||
      plan.exec_path_count > kMaxLateExecPaths || plan.rlimit_count > kMaxLateRlimits) {
    return std::nullopt;
  }
  std::string strings;
  Writer w(&strings);
  std::vector<WireOp> wire_ops;
  for (size_t i = 0; i < plan.late_op_count; ++i) {
    const MountOp& op = plan.late_ops[i];
    if (op.fd >= 0) {
      return std::nullopt;  // a descriptor cannot travel in the request: the run goes cold
    }
    WireOp wire{};
    wire.flags = op.flags;
    wire.dev = op.expect_dev;
    wire.ino = op.expect_ino;
    wire.source = w.Add(op.source);
    wire.target = w.Add(op.target);
    wire.fstype = w.Add(op.fstype);
    wire.data = op.kind == MountOp::Kind::kWriteFile ? w.Add(op.data, op.size) : w.Add(op.data);
    wire.size = static_cast<uint32_t>(op.size);
    wire.mode = op.mode;
    wire.owner = op.owner;
    wire.kind = static_cast<uint8_t>(op.kind);
    wire.optional = op.optional ? 1 : 0;
    wire.verify = op.verify ? 1 : 0;
    wire_ops.push_back(wire);
  }
  std::vector<uint32_t> offsets;
  for (size_t i = 0; i < argc; ++i) {
    offsets.push_back(w.Add(plan.argv[i]));
  }
  for (size_t i = 0; i < envc; ++i) {
    offsets.push_back(w.Add(plan.envp[i]));
  }
  for (size_t i = 0; i < plan.exec_path_count; ++i) {
    offsets.push_back(w.Add(plan.exec_paths[i]));
  }
  std::vector<WireRlimit> wire_rlimits;
  for (size_t i = 0; i < plan.rlimit_count; ++i) {
    wire_rlimits.push_back({plan.rlimits[i].resource, 0, plan.rlimits[i].value.rlim_cur,
                            plan.rlimits[i].value.rlim_max});
  }
  Header header{kMagic,
                0,
                static_cast<uint32_t>(wire_ops.size()),
                static_cast<uint32_t>(argc),
                static_cast<uint32_t>(envc),
                static_cast<uint32_t>(plan.exec_path_count),
                static_cast<uint32_t>(wire_rlimits.size()),
                0};
  size_t total = sizeof(Header) + wire_ops.size() * sizeof(WireOp) +
                 wire_rlimits.size() * sizeof(WireRlimit) + offsets.size() * sizeof(uint32_t) +
                 strings.size();
  if (total > kMaxLateRequestBytes) {
    return std::nullopt;
  }
  header.total = static_cast<uint32_t>(total);
  std::string out;
  out.reserve(total);
  out.append(reinterpret_cast<const char*>(&header), sizeof(header));  // NOLINT
  out.append(reinterpret_cast<const char*>(wire_ops.data()),           // NOLINT
             wire_ops.size() * sizeof(WireOp));
  out.append(reinterpret_cast<const char*>(wire_rlimits.data()),  // NOLINT
             wire_rlimits.size() * sizeof(WireRlimit));
  out.append(reinterpret_cast<const char*>(offsets.data()),  // NOLINT
             offsets.size() * sizeof(uint32_t));
  out.append(strings);
  return out;
}

bool ReceiveLateRequest(int fd, ChildPlan* plan) {
  if (!ReadFully(fd, request_buffer, sizeof(Header))) {
    return false;
  }
  Header header;
  std::memcpy(&header, request_buffer, sizeof(header));
  if (header.magic != kMagic || header.total < sizeof(Header) ||
      header.total > kMaxLateRequestBytes || header.op_count > kMaxLateOps ||
      header.argc > kMaxLateArgs || header.envc > kMaxLateEnv ||
      header.exec_count > kMaxLateExecPaths || header.rlimit_count > kMaxLateRlimits) {
    errno = EPROTO;
    return false;
  }
  if (!ReadFully(fd, request_buffer + sizeof(Header), header.total - sizeof(Header))) {
    return false;
  }
  size_t at = sizeof(Header);
  const char* wire_ops = request_buffer + at;
  at += header.op_count * sizeof(WireOp);
  const char* wire_rlimits = request_buffer + at;
  at += header.rlimit_count * sizeof(WireRlimit);
  const char* offsets = request_buffer + at;
  size_t offset_count = header.argc + header.envc + header.exec_count;
  at += offset_count * sizeof(uint32_t);
  if (at > header.total) {
    errno = EPROTO;
    return false;
  }
  const char* strings = request_buffer + at;
  size_t strings_size = header.total - at;
  auto str = [&](uint32_t offset, bool* ok) -> const char* {
    if (offset == kNull) {
      return nullptr;
    }
    if (offset >= strings_size) {
      *ok = false;
      return nullptr;
    }
    return strings + offset;
  };
  bool ok = strings_size == 0 || strings[strings_size - 1] == '\0';
  for (uint32_t i = 0; i < header.op_count; ++i) {
    WireOp wire;
    std::memcpy(&wire, wire_ops + i * sizeof(WireOp), sizeof(wire));
    MountOp& op = ops[i];
    op = MountOp{};
    op.kind = static_cast<MountOp::Kind>(wire.kind);
    op.source = str(wire.source, &ok);
    op.target = str(wire.target, &ok);
    op.fstype = str(wire.fstype, &ok);
    op.data = str(wire.data, &ok);
    op.size = wire.size;
    op.flags = wire.flags;
    op.mode = wire.mode;
    op.owner = wire.owner;
    op.optional = wire.optional != 0;
    op.verify = wire.verify != 0;
    op.expect_dev = static_cast<dev_t>(wire.dev);
    op.expect_ino = static_cast<ino_t>(wire.ino);
    if (op.data != nullptr && wire.data + op.size >= strings_size) {
      ok = false;
    }
  }
  for (uint32_t i = 0; i < header.rlimit_count; ++i) {
    WireRlimit wire;
    std::memcpy(&wire, wire_rlimits + i * sizeof(WireRlimit), sizeof(wire));
    rlimits[i] = {wire.resource, {wire.soft, wire.hard}};
  }
  auto list = [&](const char** out, uint32_t first, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t offset;
      std::memcpy(&offset, offsets + (first + i) * sizeof(uint32_t), sizeof(offset));
      out[i] = str(offset, &ok);
      ok = ok && out[i] != nullptr;
    }
    out[count] = nullptr;
  };
  list(argv, 0, header.argc);
  list(envp, header.argc, header.envc);
  list(exec_paths, header.argc + header.envc, header.exec_count);
  if (!ok || header.argc == 0) {
    errno = EPROTO;
    return false;
  }
  plan->late_ops = ops;
  plan->late_op_count = header.op_count;
  plan->argv = argv;
  plan->envp = envp;
  plan->exec_paths = exec_paths;
  plan->exec_path_count = header.exec_count;
  plan->rlimits = rlimits;
  plan->rlimit_count = header.rlimit_count;
  return true;
}

}  // namespace warden::sandbox
