// The subset of JSON Schema that Warden's tool parameters use, for validating what a model sent.
#pragma once

#include <string>

#include "base/json.h"
#include "base/result.h"

namespace warden::llm {

// Checks `value` against `schema` (type object/string/integer/number/boolean/array, properties,
// required, enum, items, additionalProperties: false) and coerces the usual model mistakes in
// place: a number or boolean sent as a string, an array or object serialized as a string, a lone
// value where an array of strings is expected. The error names the property and what was wanted.
Status ValidateAgainstSchema(const json::object& schema, json::value& value);

}  // namespace warden::llm
