#include "mcp/arguments.h"

#include <fmt/format.h>

namespace warden::mcp {

Result<Arguments> Arguments::Check(const json::object& arguments, std::string_view tool,
                                   std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : arguments) {
    bool found = false;
    for (std::string_view name : known) {
      found = found || name == key;
    }
    if (!found) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{} has no argument \"{}\"; its arguments are: {}", tool,
                               std::string_view{key}, fmt::join(known, ", ")));
    }
  }
  return Arguments(arguments, tool);
}

Error Arguments::WrongType(std::string_view name, std::string_view type) const {
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("argument \"{}\" of {} must be {}", name, tool_, type));
}

Result<std::optional<std::string>> Arguments::OptionalString(std::string_view name) const {
  const json::value* value = arguments_->if_contains(name);
  if (value == nullptr || value->is_null()) {
    return std::optional<std::string>();
  }
  if (!value->is_string()) {
    return WrongType(name, "a string");
  }
  return std::optional<std::string>(std::string(value->get_string()));
}

Result<std::string> Arguments::RequiredString(std::string_view name) const {
  ASSIGN_OR_RETURN(std::optional<std::string> value, OptionalString(name));
  if (!value) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{} needs the argument \"{}\" (a string)", tool_, name));
  }
  return std::move(*value);
}

Result<std::optional<std::vector<std::string>>> Arguments::OptionalStrings(
    std::string_view name) const {
  const json::value* value = arguments_->if_contains(name);
  if (value == nullptr || value->is_null()) {
    return std::optional<std::vector<std::string>>();
  }
  if (!value->is_array()) {
    return WrongType(name, "an array of strings");
  }
  std::vector<std::string> out;
  for (const json::value& item : value->get_array()) {
    if (!item.is_string()) {
      return WrongType(name, "an array of strings");
    }
    out.emplace_back(item.get_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<uint64_t>> Arguments::OptionalCount(std::string_view name) const {
  const json::value* value = arguments_->if_contains(name);
  if (value == nullptr || value->is_null()) {
    return std::optional<uint64_t>();
  }
  if (value->is_uint64()) {
    return std::optional<uint64_t>(value->get_uint64());
  }
  if (value->is_int64() && value->get_int64() >= 0) {
    return std::optional<uint64_t>(static_cast<uint64_t>(value->get_int64()));
  }
  return WrongType(name, "a whole number of at least 0");
}

}  // namespace warden::mcp
