// SerializeJson and MakeValidUtf8 (base/json_text.h).
#include "base/json_text.h"

#include <string_view>

#include "base/utf8.h"

namespace warden {
namespace {

bool ObjectKeysValid(const json::object& object) {
  for (const json::key_value_pair& field : object) {
    if (!IsValidUtf8(field.key())) {
      return false;
    }
  }
  return true;
}

}  // namespace

void MakeValidUtf8(json::value& value) {
  if (json::string* text = value.if_string(); text != nullptr) {
    if (!IsValidUtf8(*text)) {
      *text = ToValidUtf8(*text);
    }
  } else if (json::array* array = value.if_array(); array != nullptr) {
    for (json::value& item : *array) {
      MakeValidUtf8(item);
    }
  } else if (json::object* object = value.if_object(); object != nullptr) {
    MakeValidUtf8(*object);
  }
}

void MakeValidUtf8(json::object& object) {
  for (json::key_value_pair& field : object) {
    MakeValidUtf8(field.value());
  }
  if (!ObjectKeysValid(object)) {
    // Keys cannot be changed in place. Two keys that differ only in their invalid bytes become
    // one: the later value wins, as for a repeated key in parsed JSON.
    json::object rebuilt(object.storage());
    for (json::key_value_pair& field : object) {
      rebuilt[ToValidUtf8(field.key())] = std::move(field.value());
    }
    object = std::move(rebuilt);
  }
}

std::string SerializeJson(const json::value& value) {
  std::string text = json::serialize(value);
  if (IsValidUtf8(text)) {
    return text;  // the common case: one pass over the text, no copy of the value
  }
  json::value copy = value;
  MakeValidUtf8(copy);
  return json::serialize(copy);
}

}  // namespace warden
