#include "jobs/egress_bound.h"

#include <ctime>

#include <fmt/format.h>

namespace warden::jobs {
namespace {

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

std::string Names(const std::map<std::string, std::vector<std::string>>& presets) {
  std::string names;
  for (const auto& [name, rules] : presets) {
    names += (names.empty() ? "" : ", ") + name;
  }
  return names;
}

Result<std::vector<std::string>> StringList(const json::object& object, std::string_view key) {
  std::vector<std::string> list;
  const json::value* value = object.if_contains(key);
  if (value == nullptr) {
    return list;
  }
  const json::array* array = value->if_array();
  if (array == nullptr) {
    return Invalid(fmt::format("options.network.{} must be a list of strings", key));
  }
  for (const json::value& item : *array) {
    if (!item.is_string()) {
      return Invalid(fmt::format("options.network.{} must be a list of strings", key));
    }
    list.emplace_back(item.get_string());
  }
  return list;
}

}  // namespace

EgressBound DefaultEgressBound() {
  EgressBound bound;
  bound.presets = {
      {"python-packages", {"pypi.org:443", "files.pythonhosted.org:443"}},
      {"npm", {"registry.npmjs.org:443"}},
      {"github",
       {"github.com:443", "*.github.com:443", "*.githubusercontent.com:443", "ghcr.io:443"}},
  };
  return bound;
}

Result<EgressBound> EgressBoundFromConfig(const Config& config) {
  EgressBound bound = DefaultEgressBound();
  auto rules = [&](std::string_view key) -> Result<std::vector<sandbox::EgressRule>> {
    auto parsed = sandbox::ParseEgressRules(config.Strings(key));
    if (!parsed.ok()) {
      return parsed.error().WithContext(fmt::format("{}: {}", config.origin(), key));
    }
    return parsed;
  };
  ASSIGN_OR_RETURN(bound.allow, rules("network.allow"));
  ASSIGN_OR_RETURN(bound.deny, rules("network.deny"));
  for (const std::string& text : config.Strings("network.allow_private")) {
    auto range = sandbox::ParseAddressRange(text);
    if (!range.ok()) {
      return range.error().WithContext(fmt::format("{}: network.allow_private", config.origin()));
    }
    bound.allow_private.push_back(*range);
  }
  ASSIGN_OR_RETURN(std::vector<Config> presets, config.Tables("network.presets"));
  for (const Config& preset : presets) {
    std::string name = preset.String("name").value_or("");
    std::vector<std::string> allow = preset.Strings("allow");
    if (name.empty() || allow.empty()) {
      return Invalid(fmt::format("{}: each [[network.presets]] needs a name and allow rules",
                                 config.origin()));
    }
    auto parsed = sandbox::ParseEgressRules(allow);
    if (!parsed.ok()) {
      return parsed.error().WithContext(
          fmt::format("{}: [[network.presets]] {}", config.origin(), name));
    }
    bound.presets[name] = allow;
  }
  return bound;
}

Result<sandbox::EgressPolicy> MakeEgressPolicy(const std::vector<std::string>& allow,
                                               const std::vector<std::string>& deny,
                                               const std::vector<std::string>& presets,
                                               const EgressBound& bound, bool enforce,
                                               std::string_view where) {
  std::vector<std::string> allow_texts = allow;
  for (const std::string& name : presets) {
    auto preset = bound.presets.find(name);
    if (preset == bound.presets.end()) {
      return Invalid(
          fmt::format("{}: no preset \"{}\" (known: {})", where, name, Names(bound.presets)));
    }
    allow_texts.insert(allow_texts.end(), preset->second.begin(), preset->second.end());
  }
  sandbox::EgressPolicy policy;
  auto parsed = sandbox::ParseEgressRules(allow_texts);
  if (!parsed.ok()) {
    return parsed.error().WithContext(where);
  }
  policy.allow = std::move(parsed).value();
  if (policy.allow.empty()) {
    return Invalid(fmt::format("{}: name the hosts to allow (allow or presets)", where));
  }
  for (const sandbox::EgressRule& rule : policy.allow) {
    bool covered = false;
    for (const sandbox::EgressRule& limit : bound.allow) {
      covered |= rule.CoveredBy(limit);
    }
    if (enforce && !covered) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}: \"{}\" is beyond what this server lets jobs reach (its "
                               "operator can add it to network.allow in the configuration)",
                               where, rule.text));
    }
  }
  auto denied = sandbox::ParseEgressRules(deny);
  if (!denied.ok()) {
    return denied.error().WithContext(where);
  }
  policy.deny = std::move(denied).value();
  policy.deny.insert(policy.deny.end(), bound.deny.begin(), bound.deny.end());
  policy.allow_private = bound.allow_private;
  return policy;
}

Result<sandbox::EgressPolicy> ParseJobEgress(const json::object& network,
                                             const EgressBound& bound) {
  for (const auto& field : network) {
    if (field.key() != "allow" && field.key() != "deny" && field.key() != "presets") {
      return Invalid(fmt::format(
          "options.network: unknown field \"{}\" (known: allow, deny, presets)", field.key()));
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> allow, StringList(network, "allow"));
  ASSIGN_OR_RETURN(std::vector<std::string> deny, StringList(network, "deny"));
  ASSIGN_OR_RETURN(std::vector<std::string> presets, StringList(network, "presets"));
  return MakeEgressPolicy(allow, deny, presets, bound, true, "options.network");
}

json::object EgressDenialJson(const sandbox::EgressDenialEvent& event) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(event.time.time_since_epoch());
  std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  if (std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc) == 0) {
    text[0] = '\0';  // cannot happen: the format has a fixed length that fits
  }
  return json::object{{"time", fmt::format("{}.{:03}Z", text, ms.count() % 1000)},
                      {"host", event.host},
                      {"port", event.port},
                      {"reason", sandbox::EgressDenialName(event.denial)},
                      {"rule", event.rule},
                      {"message", event.message}};
}

}  // namespace warden::jobs
