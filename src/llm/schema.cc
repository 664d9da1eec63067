#include "llm/schema.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llm/json_repair.h"

namespace warden::llm {
namespace {

using Problems = std::vector<std::string>;

std::string Where(const std::string& path) {
  return path.empty() ? "arguments" : "property \"" + path + "\"";
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) {
      out += separator;
    }
    out += part;
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return s.substr(s.size());  // Empty, but still pointing into `s`: never a null data().
  }
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// "string \"abc\"", "integer 5", "an object": what the model sent, for an error message.
std::string Describe(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: {
      std::string s(v.get_string());
      if (s.size() > 40) {
        s = s.substr(0, 40) + "…";
      }
      return "string \"" + s + "\"";
    }
    case json::kind::int64:
    case json::kind::uint64:
      return "integer " + json::serialize(v);
    case json::kind::double_:
      return "number " + json::serialize(v);
    case json::kind::bool_:
      return "boolean " + json::serialize(v);
    case json::kind::null:
      return "null";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

// The schema's "type": a string, a list of strings, or absent (anything goes).
std::vector<std::string> TypesOf(const json::object& schema) {
  std::vector<std::string> types;
  const json::value* type = schema.if_contains("type");
  if (type == nullptr) {
    return types;
  }
  if (type->is_string()) {
    types.emplace_back(type->get_string());
  } else if (type->is_array()) {
    for (const json::value& t : type->get_array()) {
      if (t.is_string()) {
        types.emplace_back(t.get_string());
      }
    }
  }
  return types;
}

bool HasType(const json::value& v, std::string_view type) {
  if (type == "string") {
    return v.is_string();
  }
  if (type == "integer") {
    return v.is_int64() || v.is_uint64();
  }
  if (type == "number") {
    return v.is_number();
  }
  if (type == "boolean") {
    return v.is_bool();
  }
  if (type == "null") {
    return v.is_null();
  }
  if (type == "object") {
    return v.is_object();
  }
  if (type == "array") {
    return v.is_array();
  }
  return true;  // A type this subset does not know: do not reject what the model sent.
}

bool Allows(const json::object& schema, std::string_view type) {
  std::vector<std::string> types = TypesOf(schema);
  for (const std::string& t : types) {
    if (t == type) {
      return true;
    }
  }
  return types.empty();
}

bool CoerceToInteger(json::value& v) {
  if (v.is_double()) {
    double d = v.get_double();
    if (std::trunc(d) != d || std::fabs(d) > 9e15) {
      return false;
    }
    v = static_cast<int64_t>(d);
    return true;
  }
  if (!v.is_string()) {
    return false;
  }
  std::string_view s = Trim(v.get_string());
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    return false;
  }
  v = n;
  return true;
}

bool CoerceToNumber(json::value& v) {
  if (!v.is_string()) {
    return false;
  }
  std::string_view s = Trim(v.get_string());
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(d)) {
    return false;
  }
  v = d;
  return true;
}

bool CoerceToBoolean(json::value& v) {
  if (!v.is_string()) {
    return false;
  }
  std::string s(Trim(v.get_string()));
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (s != "true" && s != "false") {
    return false;
  }
  v = s == "true";
  return true;
}

// A container serialized as a string ("[\"a\", \"b\"]"): models do this with nested arguments.
bool ParseContainerString(json::value& v, char open) {
  if (!v.is_string()) {
    return false;
  }
  std::string_view s = Trim(v.get_string());
  if (s.empty() || s[0] != open) {
    return false;
  }
  Result<json::value> parsed = ParseLenientJson(s);
  if (!parsed.ok() || (open == '[' ? !parsed->is_array() : !parsed->is_object())) {
    return false;
  }
  v = *std::move(parsed);
  return true;
}

// Converts `v` to `type` where the model's intent is unambiguous; false when it is not.
bool Coerce(json::value& v, std::string_view type) {
  if (type == "integer") {
    return CoerceToInteger(v);
  }
  if (type == "number") {
    return CoerceToNumber(v);
  }
  if (type == "boolean") {
    return CoerceToBoolean(v);
  }
  if (type == "string" && v.is_number()) {
    v = json::serialize(v);
    return true;
  }
  if (type == "object") {
    return ParseContainerString(v, '{');
  }
  if (type == "array") {
    if (ParseContainerString(v, '[')) {
      return true;
    }
    // A lone value where a list is wanted ("files": "a.txt"): a list of one. The items are
    // checked afterwards like any other.
    if (!v.is_null()) {
      json::array one;
      one.push_back(std::move(v));
      v = std::move(one);
      return true;
    }
  }
  return false;
}

void Check(const json::object& schema, json::value& v, const std::string& path, Problems& out);

void CheckObject(const json::object& schema, json::object& obj, const std::string& path,
                 Problems& out) {
  const json::value* props_value = schema.if_contains("properties");
  json::object no_props;
  const json::object& props =
      props_value != nullptr && props_value->is_object() ? props_value->get_object() : no_props;
  const json::value* required = schema.if_contains("required");
  auto is_required = [&](std::string_view key) {
    if (required == nullptr || !required->is_array()) {
      return false;
    }
    for (const json::value& r : required->get_array()) {
      if (r.is_string() && r.get_string() == key) {
        return true;
      }
    }
    return false;
  };
  auto join_path = [&](std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  };

  // An optional property sent as null means "not given" (models do this for every default).
  std::vector<std::string> nulls;
  for (const auto& [key, value] : obj) {
    const json::value* prop = props.if_contains(key);
    if (value.is_null() && prop != nullptr && prop->is_object() &&
        !Allows(prop->get_object(), "null") && !is_required(key)) {
      nulls.emplace_back(key);
    }
  }
  for (const std::string& key : nulls) {
    obj.erase(key);
  }

  const json::value* additional = schema.if_contains("additionalProperties");
  for (auto& [key, value] : obj) {
    const json::value* prop = props.if_contains(key);
    if (prop != nullptr) {
      if (prop->is_object()) {
        Check(prop->get_object(), value, join_path(key), out);
      }
    } else if (additional != nullptr && additional->is_bool() && !additional->get_bool()) {
      std::vector<std::string> allowed;
      for (const auto& p : props) {
        allowed.emplace_back(p.key());
      }
      out.push_back("unknown property \"" + join_path(key) + "\" (allowed: " + Join(allowed, ", ") +
                    ")");
    } else if (additional != nullptr && additional->is_object()) {
      Check(additional->get_object(), value, join_path(key), out);
    }
  }
  if (required != nullptr && required->is_array()) {
    for (const json::value& r : required->get_array()) {
      if (r.is_string() && !obj.contains(r.get_string())) {
        out.push_back("missing required property \"" + join_path(r.get_string()) + "\"");
      }
    }
  }
}

void CheckArray(const json::object& schema, json::array& array, const std::string& path,
                Problems& out) {
  const json::value* items = schema.if_contains("items");
  if (items == nullptr || !items->is_object()) {
    return;
  }
  for (size_t i = 0; i < array.size(); ++i) {
    Check(items->get_object(), array[i], path + "[" + std::to_string(i) + "]", out);
  }
}

void CheckEnum(const json::object& schema, const json::value& v, const std::string& path,
               Problems& out) {
  const json::value* choices = schema.if_contains("enum");
  if (choices == nullptr || !choices->is_array()) {
    return;
  }
  std::vector<std::string> names;
  for (const json::value& choice : choices->get_array()) {
    if (choice == v) {
      return;
    }
    names.push_back(json::serialize(choice));
  }
  out.push_back(Where(path) + ": " + json::serialize(v) + " is not one of " + Join(names, ", "));
}

void Check(const json::object& schema, json::value& v, const std::string& path, Problems& out) {
  std::vector<std::string> types = TypesOf(schema);
  bool fits = types.empty();
  for (const std::string& type : types) {
    fits = fits || HasType(v, type);
  }
  for (size_t i = 0; !fits && i < types.size(); ++i) {
    json::value coerced = v;
    if (Coerce(coerced, types[i]) && HasType(coerced, types[i])) {
      v = std::move(coerced);
      fits = true;
    }
  }
  if (!fits) {
    out.push_back(Where(path) + ": expected " + Join(types, " or ") + ", got " + Describe(v));
    return;
  }
  CheckEnum(schema, v, path, out);
  if (v.is_object()) {
    CheckObject(schema, v.get_object(), path, out);
  } else if (v.is_array()) {
    CheckArray(schema, v.get_array(), path, out);
  }
}

}  // namespace

Status ValidateAgainstSchema(const json::object& schema, json::value& value) {
  Problems problems;
  Check(schema, value, "", problems);
  if (problems.empty()) {
    return OkStatus();
  }
  return Error(ErrorCode::kInvalidArgument, Join(problems, "; "));
}

}  // namespace warden::llm
