// The arguments of one tool call, read once into typed values: unknown names are refused naming
// the known ones, and a value of the wrong type is refused naming the argument and the type.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace warden::mcp {

// A view of a call's arguments; the object must outlive it.
class Arguments {
 public:
  // kInvalidArgument when `arguments` has a name not in `known`.
  static Result<Arguments> Check(const json::object& arguments, std::string_view tool,
                                 std::initializer_list<std::string_view> known);

  Result<std::optional<std::string>> OptionalString(std::string_view name) const;
  Result<std::string> RequiredString(std::string_view name) const;
  Result<std::optional<std::vector<std::string>>> OptionalStrings(std::string_view name) const;
  Result<std::optional<uint64_t>> OptionalCount(std::string_view name) const;

 private:
  Arguments(const json::object& arguments, std::string_view tool)
      : arguments_(&arguments), tool_(tool) {}
  Error WrongType(std::string_view name, std::string_view type) const;

  const json::object* arguments_;
  std::string tool_;
};

}  // namespace warden::mcp
