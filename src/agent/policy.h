// What may run, checked before every action: built-in deny rules for obviously destructive
// commands, the user's allow/deny patterns, and the approval mode.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace warden::agent {

enum class ApprovalMode {
  kNever,   // nothing asks; only deny rules stop an action
  kRisky,   // ask before risky actions (recursive deletes, installs, pushes, piping to a shell)
  kAlways,  // ask before every action that runs or writes something
};

Result<ApprovalMode> ParseApprovalMode(std::string_view text);
std::string_view ApprovalModeName(ApprovalMode mode);

struct Verdict {
  enum Kind { kAllow, kAsk, kDeny };
  Kind kind = kAllow;
  std::string reason;  // kAsk: what makes it risky; kDeny: the rule it broke
};

class Policy {
 public:
  // `allow` and `deny` are shell-style patterns (* ? [..]) matched against a command or a
  // program's text; a deny pattern wins over an allow pattern, and built-in rules over both.
  Policy(ApprovalMode mode, std::vector<std::string> allow, std::vector<std::string> deny,
         bool network);

  // `tool` and its validated arguments.
  Verdict Check(std::string_view tool, const json::object& arguments) const;

  ApprovalMode mode() const { return mode_; }

 private:
  ApprovalMode mode_;
  std::vector<std::string> allow_;
  std::vector<std::string> deny_;
  bool network_;
};

}  // namespace warden::agent
