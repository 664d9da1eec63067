// Fuzz target: the packed late request a warm sandbox's init receives from the supervisor
// (sandbox/late_request.h), read from a descriptor as init reads it. The supervisor is trusted,
// but init parses this request without allocating, in static storage: a malformed request must be
// refused, never read out of bounds. Properties: no crash, no sanitizer report; what was accepted
// can be walked as init walks it (every string terminated, every file's data in range) and packs
// again into a request that reads back the same.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "sandbox/child.h"
#include "sandbox/late_request.h"

namespace warden::sandbox {
namespace {

// Everything init would read of a received plan, as plain values.
struct Flat {
  std::vector<std::string> strings;
  std::vector<uint64_t> numbers;
  bool operator==(const Flat&) const = default;
};

void AddString(Flat& flat, const char* s) {
  flat.strings.emplace_back(s == nullptr ? std::string("(null)") : std::string(s) + "'");
}

Flat Walk(const ChildPlan& plan) {
  Flat flat;
  for (size_t i = 0; i < plan.late_op_count; ++i) {
    const MountOp& op = plan.late_ops[i];
    // A size means something for a file's data only (see PackAgain()).
    uint64_t size = op.kind == MountOp::Kind::kWriteFile ? op.size : 0;
    flat.numbers.insert(flat.numbers.end(),
                        {static_cast<uint64_t>(op.kind), op.flags, size, op.mode, op.owner,
                         op.optional ? 1u : 0u, op.verify ? 1u : 0u, op.expect_dev, op.expect_ino});
    AddString(flat, op.source);
    AddString(flat, op.target);
    AddString(flat, op.fstype);
    if (op.kind == MountOp::Kind::kWriteFile && op.data != nullptr) {
      flat.strings.emplace_back(op.data, op.size);  // what init writes into the file
    } else {
      AddString(flat, op.data);
    }
  }
  for (const char* const* list : {plan.argv, plan.envp}) {
    size_t n = 0;
    for (; list[n] != nullptr; ++n) {
      AddString(flat, list[n]);
    }
    flat.numbers.push_back(n);
  }
  for (size_t i = 0; i < plan.exec_path_count; ++i) {
    AddString(flat, plan.exec_paths[i]);
  }
  FUZZ_CHECK(plan.exec_paths[plan.exec_path_count] == nullptr);
  for (size_t i = 0; i < plan.rlimit_count; ++i) {
    flat.numbers.insert(flat.numbers.end(),
                        {static_cast<uint64_t>(plan.rlimits[i].resource),
                         plan.rlimits[i].value.rlim_cur, plan.rlimits[i].value.rlim_max});
  }
  return flat;
}

// Packs a received plan again, as the supervisor would. Init reads data[0..size) for files only;
// the sizes of other ops are cleared first, as the supervisor's plans never set them.
std::optional<std::string> PackAgain(const ChildPlan& plan) {
  std::vector<MountOp> ops(plan.late_ops, plan.late_ops + plan.late_op_count);
  for (MountOp& op : ops) {
    if (op.kind != MountOp::Kind::kWriteFile) {
      op.size = 0;
    }
  }
  ChildPlan copy = plan;
  copy.late_ops = ops.data();
  return EncodeLateRequest(copy);
}

// Reads a request from `bytes` through a descriptor, as init does; the walked plan if accepted.
std::optional<Flat> Receive(const void* bytes, size_t size) {
  int fd = ::memfd_create("late_request", MFD_CLOEXEC);
  FUZZ_CHECK(fd >= 0) << std::strerror(errno);
  FUZZ_CHECK(::write(fd, bytes, size) == static_cast<ssize_t>(size));
  FUZZ_CHECK(::lseek(fd, 0, SEEK_SET) == 0);
  ChildPlan plan;
  bool ok = ReceiveLateRequest(fd, &plan);
  int err = errno;
  ::close(fd);
  if (!ok) {
    FUZZ_CHECK(err == EPROTO || err == EPIPE) << std::strerror(err);
    return std::nullopt;
  }
  FUZZ_CHECK(plan.argv != nullptr && plan.argv[0] != nullptr) << "a request without a program";
  Flat flat = Walk(plan);
  std::optional<std::string> packed = PackAgain(plan);
  FUZZ_CHECK(packed.has_value()) << "an accepted request does not pack again";
  ChildPlan again;
  int again_fd = ::memfd_create("late_request", MFD_CLOEXEC);
  FUZZ_CHECK(::write(again_fd, packed->data(), packed->size()) ==
             static_cast<ssize_t>(packed->size()));
  FUZZ_CHECK(::lseek(again_fd, 0, SEEK_SET) == 0);
  FUZZ_CHECK(ReceiveLateRequest(again_fd, &again)) << std::strerror(errno);
  ::close(again_fd);
  FUZZ_CHECK(Walk(again) == flat) << "a request packed again reads back differently";
  return flat;
}

}  // namespace
}  // namespace warden::sandbox

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  warden::sandbox::Receive(data, size);
  return 0;
}
