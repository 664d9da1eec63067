#include "api/sessions_api.h"

namespace warden::api {

void SessionsApi::AddRoutes(Router&) {}

}  // namespace warden::api
