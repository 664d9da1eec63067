#include "api/auth.h"

namespace warden::api {

Result<std::unique_ptr<Auth>> Auth::Create(const Config&, const char*) {
  return std::make_unique<Auth>();
}

}  // namespace warden::api
